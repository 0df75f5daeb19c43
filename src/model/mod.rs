//! The equations: network forms, activations, the Hebbian rule (science.md §1–2).
//!
//! Everything here is the CPU reference; each GPU kernel in `shaders/` has its twin here.

pub mod activation;
pub mod f16;
pub mod hebbian;
pub mod network;
pub mod real;

pub use activation::Activation;
pub use hebbian::{HebbianRule, PresynapticGate};
pub use network::{Form, NeuronParams};
pub use real::Real;

use serde::{Deserialize, Serialize};

/// Everything that may differ between replicas of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaParams {
    pub neuron: NeuronParams,
    pub learning: HebbianRule,
}
