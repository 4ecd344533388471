/**
 * What an IAM system would POST: one valid event and one with mistakes, as raw JSON. `idrelaysubject` is
 * base64url of `{"email":"Alice@Example.com","format":"email"}`, as `createEvent` writes it.
 */
export const SAMPLE_EVENTS = [
  `{
    "specversion": "1.0",
    "id": "req-7781",
    "source": "https://iam.example.com/workflows",
    "type": "idrelay.access.requested",
    "time": "2026-11-23T09:12:00Z",
    "datacontenttype": "application/json",
    "idrelaysubject": "eyJlbWFpbCI6IkFsaWNlQEV4YW1wbGUuY29tIiwiZm9ybWF0IjoiZW1haWwifQ",
    "data": {
      "requestId": "req-7781",
      "requester": { "id": "u-alice", "displayName": "Alice Meier" },
      "resource": { "id": "db-customers", "name": "Customer DB (read)" },
      "justification": "Quarter-end report",
      "approvers": ["u-bob", "u-carol"],
      "expiresAt": "2026-11-24T09:12:00Z"
    }
  }`,
  `{
    "specversion": "1.0",
    "id": "lock-1",
    "source": "ldap://dir.example.com",
    "type": "idrelay.account.locked",
    "time": "yesterday",
    "datacontenttype": "application/json",
    "data": { "userId": "u-alice", "reason": "bored" }
  }`,
];
