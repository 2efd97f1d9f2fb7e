//! Settings types are `clap` argument groups: each default is written once, in its
//! `#[arg(default_value_t = …)]`, and [`defaults`] reads them back for library callers.

use clap::{Args, Command, FromArgMatches};

/// A settings group with every field at its command-line default.
pub fn defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(Command::new("defaults")).no_binary_name(true);
    // Every field of a settings group has a default, so parsing no flags cannot fail (a
    // test parses each group).
    command
        .try_get_matches_from(Vec::<String>::new())
        .and_then(|m| T::from_arg_matches(&m))
        .unwrap_or_else(|e| panic!("a setting has no default: {e}"))
}

/// What settings files written before `replicas` existed ran on: one replica.
pub(crate) fn one_replica() -> usize {
    1
}
