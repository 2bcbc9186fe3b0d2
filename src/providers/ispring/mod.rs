pub mod dialect;
pub mod wire;
