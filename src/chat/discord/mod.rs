//! Discord: the gateway that records war-room messages on the timeline.

pub mod gateway;
