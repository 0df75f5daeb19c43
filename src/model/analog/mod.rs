//! The analog (firing-rate) recurrent network family — `"model": "analog"`, the default: the
//! random recurrent networks of Siri et al. 2008 in the rate and current forms of science.md §1,
//! with Hebbian learning and passive forgetting (§2), advanced by the CPU twin here and the
//! kernels `shaders/neuron_update.wgsl` and `shaders/hebbian_update.wgsl`.
//!
//! The same equations serve the analog model of Cessac et al. 1994 (rate form, a = 1), Jiang et
//! al.'s sequence couplings and Rivkind & Barak's closed loops (current form, with their own
//! couplings): see docs/architecture.md.

pub mod activation;
pub mod hebbian;
pub mod local_field;
pub mod network;

pub use activation::Activation;
pub use hebbian::{HebbianRule, PresynapticGate};
pub use network::{Form, NeuronParams};

use serde::{Deserialize, Serialize};

/// Everything that may differ between replicas of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaParams {
    pub neuron: NeuronParams,
    pub learning: HebbianRule,
}
