//! warroom: a self-hosted chat-ops bot for incident war rooms.

pub mod app;
pub mod catalog;
pub mod chat;
pub mod config;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod http;
pub mod ingest;
pub mod render;
pub mod signin;
pub mod store;
pub mod telemetry;
