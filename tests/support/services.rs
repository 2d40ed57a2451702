//! Where the local platform serves each service's HTTP API: the seed's ports, as `infra/local`
//! serves them (8000 is the gateway holding every route). The one place tests name them.

/// The services with an HTTP API and their ports.
pub const SERVICES: [(&str, u16); 6] = [
    ("auth", 8001),
    ("wallet", 8002),
    ("payment", 8003),
    ("notification", 8004),
    ("kyc", 8005),
    ("reporting", 8006),
];

pub const GATEWAY: &str = "http://127.0.0.1:8000";
pub const AUTH: &str = "http://127.0.0.1:8001";
pub const WALLET: &str = "http://127.0.0.1:8002";
pub const PAYMENT: &str = "http://127.0.0.1:8003";
pub const NOTIFICATION: &str = "http://127.0.0.1:8004";
pub const KYC: &str = "http://127.0.0.1:8005";
pub const REPORTING: &str = "http://127.0.0.1:8006";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_is_its_service_port() {
        let urls = [AUTH, WALLET, PAYMENT, NOTIFICATION, KYC, REPORTING];
        for ((_, port), url) in SERVICES.iter().zip(urls) {
            assert_eq!(url, format!("http://127.0.0.1:{port}"));
        }
    }
}
