//! Matrix factorisation: implicit ALS (Hu, Koren & Volinsky 2008, conjugate
//! gradient as in implicit, or exact Cholesky), BPR (Rendle et al. 2009),
//! EASE (Steck 2019), and explicit biased MF / SVD++ on ratings.

mod als;
mod bpr;
mod ease;
mod factors;
mod simd;
mod svd;

pub use als::{Als, AlsSolver};
pub use bpr::{Bpr, NegativeSampling};
pub use ease::{EASE_MAX_ITEMS, Ease, EaseModel};
pub use factors::FactorModel;
pub(crate) use factors::dot as dot_pub;
pub use svd::{Svd, SvdModel};
