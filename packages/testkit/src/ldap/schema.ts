/**
 * A small auxiliary schema the harness loads beside `core`, `cosine`, `inetorgperson` and `nis`: a time zone and
 * an OIDC `iss_sub` identifier on a person (inetOrgPerson has neither), and a place for write-back records.
 * Object identifiers sit under 1.3.6.1.4.1.32473, the enterprise number IANA reserves for documentation
 * (RFC 5612), so they can never clash with a real schema.
 */
export const IDRELAY_SCHEMA = `
attributetype ( 1.3.6.1.4.1.32473.1.1.1 NAME 'idrelayTimeZone'
  DESC 'IANA time zone of a person, e.g. Europe/Zurich'
  EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.2 NAME 'idrelaySubject'
  DESC 'An OIDC issuer and subject, separated by one space'
  EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.32473.1.1.3 NAME 'idrelayRecord'
  DESC 'An acknowledgement or decision record written back by idrelay (JSON)'
  EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.32473.1.2.1 NAME 'idrelayUser'
  DESC 'idrelay attributes of a person' SUP top AUXILIARY
  MAY ( idrelayTimeZone $ idrelaySubject $ idrelayRecord ) )
objectclass ( 1.3.6.1.4.1.32473.1.2.2 NAME 'idrelayRecordEntry'
  DESC 'A child entry holding one idrelay record' SUP top STRUCTURAL
  MUST cn MAY ( idrelayRecord $ description ) )
`;
