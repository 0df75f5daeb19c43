//! hebbnet: ensembles of discrete-time random recurrent neural networks with Hebbian learning,
//! advanced on the CPU or on a GPU (wgpu), analysed on the CPU.
//!
//! Data flows one way: [`config`] → [`ensemble`] → [`backend`] → [`analysis`] → [`output`],
//! orchestrated by [`experiment`]. The equations live in [`model`]; what they predict
//! analytically (mean field, edge of chaos) in [`theory`], which `hebbnet theory` prints and the
//! phase-diagram heat maps of [`plot`] draw.

pub mod analysis;
pub mod backend;
pub mod bench;
pub mod cli;
pub mod config;
pub mod ensemble;
pub mod error;
pub mod experiment;
pub mod model;
pub mod npy;
pub mod output;
pub mod plot;
pub mod theory;

pub use error::{Error, Result};
