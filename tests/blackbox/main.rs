//! The black-box tests: one binary, a module per topic, every test talking to the spawned server over
//! TCP (raw protocol or a real client). Set `CORENATS_TEST_SERVER=nats-server` to run them against real
//! nats-server; behaviours corenats deliberately does differently are gated with `is_corenats()`. Set
//! `CORENATS_TEST_RUNTIME=epoll` to run every corenats they start on the epoll runtime.
//! One binary links once: faster CI and far less disk than one binary per file.

mod common;

mod accounts_imports;
mod accounts_isolation;
mod accounts_limits;
mod accounts_random;
mod auth_methods;
mod bad_input;
mod cli_check;
mod cli_flags;
mod client_pubsub;
mod client_reconnect;
mod cluster_failover;
mod cluster_routes;
mod cluster_tls;
mod configs_cli;
mod cross_shard;
mod cross_shard_stress;
mod deploy_files;
mod explain;
mod fuzz_bodies;
mod fuzz_live;
mod leaf_hub;
mod leaf_hub_tls;
mod leaf_remote;
mod lifecycle_lame_duck;
mod lifecycle_signals;
mod many_subs;
mod monitor_abuse;
mod monitor_connz;
mod monitor_endpoints;
mod monitor_metrics;
mod monitor_routez;
mod perm_forms;
mod perm_responses;
mod proto_auth;
mod proto_connect;
mod proto_errors;
mod proto_headers;
mod proto_keepalive;
mod proto_limits;
mod proto_pubsub;
mod queue_delivery_filter;
mod queue_weighting;
mod reload_auth;
mod reload_limits;
mod runtime_fallback;
mod seed_example;
mod slow_consumer;
mod soak;
mod tls_async_nats;
mod tls_client;
mod tls_config;
