/**
 * Event type URIs of CAEP 1.0, RISC 1.0 and SSF 1.0 that the receiver knows by name.
 *
 * @see https://openid.net/specs/openid-caep-1_0.html
 * @see https://openid.net/specs/openid-risc-1_0-final.html
 */
export const SSF_EVENT_TYPES = {
  caepSessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  caepCredentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  caepAssuranceLevelChange: 'https://schemas.openid.net/secevent/caep/event-type/assurance-level-change',
  caepTokenClaimsChange: 'https://schemas.openid.net/secevent/caep/event-type/token-claims-change',
  caepDeviceComplianceChange: 'https://schemas.openid.net/secevent/caep/event-type/device-compliance-change',
  caepRiskLevelChange: 'https://schemas.openid.net/secevent/caep/event-type/risk-level-change',
  riscAccountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  riscAccountEnabled: 'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
  riscAccountPurged: 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
  riscCredentialCompromise: 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise',
  riscIdentifierChanged: 'https://schemas.openid.net/secevent/risc/event-type/identifier-changed',
  riscSessionsRevoked: 'https://schemas.openid.net/secevent/risc/event-type/sessions-revoked',
  riscAccountCredentialChangeRequired:
    'https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required',
  ssfVerification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
  ssfStreamUpdated: 'https://schemas.openid.net/secevent/ssf/event-type/stream-updated',
} as const;
