import { createMemoryStore } from '../src/memory-store/create-memory-store.js';
import { storeContract } from '../src/store-contract/store-contract.js';

storeContract({ name: 'memory', create: async () => createMemoryStore() });
