//! Permissions as Better-Auth's access control writes them: `resource -> actions`. API keys
//! carry them; organization roles grant them.

use std::collections::BTreeMap;

/// Permissions granted, or required: `resource -> actions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions(pub BTreeMap<String, Vec<String>>);

impl Permissions {
    /// Permissions from `(resource, actions)` pairs.
    #[must_use]
    pub fn of(pairs: &[(&str, &[&str])]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(resource, actions)| {
                    let actions = actions.iter().map(|action| (*action).to_owned()).collect();
                    ((*resource).to_owned(), actions)
                })
                .collect(),
        )
    }

    /// Whether these permissions grant everything `required` lists (every action of every
    /// resource).
    #[must_use]
    pub fn satisfy(&self, required: &Self) -> bool {
        required.0.iter().all(|(resource, actions)| {
            self.0.get(resource).is_some_and(|granted| {
                actions
                    .iter()
                    .all(|action| granted.iter().any(|g| g == action))
            })
        })
    }

    /// Whether no resource is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
