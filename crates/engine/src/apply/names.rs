//! Whether a new group's name is free on its target: from one listing per run when
//! that costs fewer calls than looking each new group up.

use super::*;

/// A target's group names as listed once in this run, and the names this run's units
/// have claimed since; `None` inside when no listing was cheap enough or it failed.
pub(super) struct NameCheck {
    /// Calls the listing may take: fewer than the lookups it saves.
    max_calls: usize,
    listing: OnceCell<Option<Names>>,
}

struct Names {
    /// Trimmed and case-folded.
    listed: HashSet<String>,
    claimed: Mutex<HashSet<String>>,
}

fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

impl NameCheck {
    /// A check that may list the target in up to `max_calls` calls, or that already
    /// has every name: the account's directory, read under the run lock this run, lists
    /// every group it holds (then no listing call is made at all).
    pub(super) fn new(max_calls: usize, listed: Option<Vec<&str>>) -> NameCheck {
        let listing = OnceCell::new();
        if let Some(names) = listed {
            let _ = listing.set(Some(Names {
                listed: names.into_iter().map(fold).collect(),
                claimed: Mutex::default(),
            }));
        }
        NameCheck { max_calls, listing }
    }

    /// True when no group named `name` can be on the target: neither listed nor claimed
    /// by another unit of this run; then the name is claimed for the caller. The first
    /// caller reads the listing; the others wait for it.
    pub(super) async fn absent(&self, provider: &dyn Provider, name: &str) -> bool {
        let names = self
            .listing
            .get_or_init(|| async {
                match provider.group_names(self.max_calls).await {
                    Ok(listed) => listed.map(|listed| Names {
                        listed: listed.iter().map(|n| fold(n)).collect(),
                        claimed: Mutex::default(),
                    }),
                    Err(e) => {
                        warn!(
                            "cannot list the target's groups; looking each new one up instead: {e}"
                        );
                        None
                    }
                }
            })
            .await;
        let Some(names) = names else {
            return false;
        };
        let folded = fold(name);
        if names.listed.contains(&folded) {
            return false;
        }
        names
            .claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(folded)
    }
}
