//! Every service this binary runs: the one list that `serve`, `migrate`,
//! `audit verify`, `store check`, health and endpoint resolution iterate
//! (see `samling_kit::module`). Nothing else in the binary's platform code
//! names a service.
//!
//! Adding a service: its crate (with its `pub fn module()`), the crate in
//! the workspace `Cargo.toml` (member, dependency) and one line here.

use samling_kit::module::Module;

/// The services, in the order they start, migrate and are checked.
pub fn all() -> Vec<Module> {
    vec![
        samling_registry::module(),
        samling_recruitment::module(),
        samling_compensation::module(),
        samling_portfolio::module(),
        samling_ombud::module(),
    ]
}

/// Their names, for messages and config checks.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|m| m.name).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_well_formed() {
        samling_kit::module::check_list(&super::all()).unwrap();
    }
}
