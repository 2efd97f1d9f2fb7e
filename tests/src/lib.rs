pub use pocketrank_model as model;
