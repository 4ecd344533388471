#!/usr/bin/env node
/** Placeholder: the `idrelay` CLI is being built. */
export {};
