//! TEMPORARY stub until the config language lands.
pub mod schema;
pub use schema::*;
use std::path::Path;
use std::time::Duration;

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "0.0.0.0".into(),
            port: 4222,
            server_name: None,
            http_host: None,
            http_port: None,
            http_base_path: None,
            max_connections: 65536,
            max_subscriptions: 0,
            max_payload: 1 << 20,
            max_pending: 64 << 20,
            max_control_line: 4096,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            write_deadline: Duration::from_secs(10),
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
            debug: false,
            trace: false,
            logtime: true,
            log_file: None,
            pid_file: None,
            no_auth_user: None,
            system_account: None,
            no_system_account: false,
            disable_sublist_cache: false,
            authorization: None,
            accounts: vec![],
            mappings: vec![],
            jetstream: false,
            cores: None,
            bus_spin: Duration::ZERO,
            max_closed_clients: 10000,
        }
    }
}

pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    pub digest: String,
}

pub fn load(_p: &Path) -> Result<Loaded, String> {
    Err("config files not supported yet".into())
}
pub fn load_pedantic(p: &Path) -> Result<Loaded, String> {
    load(p)
}
