//! Where the local platform serves each service's HTTP API: the seed's ports, which the runner
//! owns (`finflow_local::ports`), as the URLs the tests call.

pub use finflow_local::ports::SERVICES;

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
        let gateway = finflow_local::ports::GATEWAY_PORT;
        assert_eq!(GATEWAY, format!("http://127.0.0.1:{gateway}"));
    }
}
