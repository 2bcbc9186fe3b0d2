pub mod client;
pub mod dialect;
pub mod sandbox;
pub mod wire;
