//! The seed's ports: each service's API on its own port, and the gateway serving every route.
//! The runner listens on them; the system tests reach the services there.

/// Serves every route of every service, as the one API Gateway does on AWS; health checks
/// reach upstream services through it (template parameter PublicApiUrl).
pub const GATEWAY_PORT: u16 = 8000;

/// The services with an HTTP API and their ports.
pub const SERVICES: [(&str, u16); 6] = [
    ("auth", 8001),
    ("wallet", 8002),
    ("payment", 8003),
    ("notification", 8004),
    ("kyc", 8005),
    ("reporting", 8006),
];
