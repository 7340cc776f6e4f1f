//! What every notebook starts with: the run profile of its tagged
//! `parameters` cell and the environment it ran in.
//!
//! ```
//! use recsys::notebook::Profile;
//! // Full unless RECSYS_NOTEBOOK_PROFILE=smoke (CI's quick run).
//! let epochs = Profile::from_env().pick(20, 2);
//! assert!(epochs == 20 || epochs == 2);
//! ```

use crate::display::{evcxr_emit, html_table, text_table};

/// How much work a notebook does. The committed outputs come from
/// [`Profile::Full`]; CI executes every notebook with [`Profile::Smoke`]
/// (few epochs, small grids and samples) to check that it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// The experiments as reported.
    Full,
    /// A quick run of the same code.
    Smoke,
}

/// The environment variable that chooses the profile (`full` or `smoke`).
pub const PROFILE_VAR: &str = "RECSYS_NOTEBOOK_PROFILE";

impl Profile {
    /// From `RECSYS_NOTEBOOK_PROFILE`: `smoke` gives [`Profile::Smoke`],
    /// anything else (or unset) [`Profile::Full`].
    pub fn from_env() -> Profile {
        Self::from_name(&std::env::var(PROFILE_VAR).unwrap_or_default())
    }

    /// `smoke` (any case) is [`Profile::Smoke`]; everything else is full.
    pub fn from_name(name: &str) -> Profile {
        if name.trim().eq_ignore_ascii_case("smoke") {
            Profile::Smoke
        } else {
            Profile::Full
        }
    }

    /// `full` under the full profile, `smoke` under the smoke profile.
    pub fn pick<T>(self, full: T, smoke: T) -> T {
        match self {
            Profile::Full => full,
            Profile::Smoke => smoke,
        }
    }

    /// True for [`Profile::Smoke`].
    pub fn is_smoke(self) -> bool {
        self == Profile::Smoke
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Profile::Full => "full",
            Profile::Smoke => "smoke",
        })
    }
}

/// Where a notebook ran: recsys version and commit, threads, device, profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub version: String,
    /// `git describe` of the checkout, when it is one.
    pub commit: Option<String>,
    /// rayon worker threads.
    pub threads: usize,
    /// What the deep models train on by default ([`crate::models::deep::Compute::Auto`]).
    pub device: String,
    pub profile: Profile,
}

impl Environment {
    /// The current process's environment.
    pub fn detect() -> Environment {
        let commit = std::process::Command::new("git")
            .args(["describe", "--always", "--dirty"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty());
        #[cfg(feature = "deep")]
        let device = match crate::models::deep::Compute::Auto.resolve() {
            Ok(d) => d.description,
            Err(e) => format!("none ({e})"),
        };
        #[cfg(not(feature = "deep"))]
        let device = "CPU (built without the deep models)".to_string();
        Environment {
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit,
            threads: rayon::current_num_threads(),
            device,
            profile: Profile::from_env(),
        }
    }

    fn rows(&self) -> Vec<Vec<String>> {
        vec![
            vec!["recsys".into(), self.version.clone()],
            vec![
                "commit".into(),
                self.commit.clone().unwrap_or_else(|| "–".into()),
            ],
            vec!["threads".into(), self.threads.to_string()],
            vec!["device".into(), self.device.clone()],
            vec!["profile".into(), self.profile.to_string()],
        ]
    }

    /// An HTML table of the environment (pure).
    pub fn to_html(&self) -> String {
        html_table(Some("Environment"), &["".into(), "".into()], &self.rows())
    }

    /// Jupyter display (called by evcxr).
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text_table(&["".into(), "".into()], &self.rows()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names() {
        assert_eq!(Profile::from_name("smoke"), Profile::Smoke);
        assert_eq!(Profile::from_name(" SMOKE "), Profile::Smoke);
        assert_eq!(Profile::from_name(""), Profile::Full);
        assert_eq!(Profile::from_name("full"), Profile::Full);
        assert_eq!(Profile::Smoke.pick(20, 2), 2);
    }

    #[test]
    fn environment_renders() {
        let e = Environment {
            version: "0.1.0".into(),
            commit: None,
            threads: 2,
            device: "CPU".into(),
            profile: Profile::Full,
        };
        let h = e.to_html();
        assert!(h.contains("0.1.0") && h.contains("full") && h.contains("<table"));
        assert!(e.to_string().contains("threads"));
    }
}

/// The top `n` items of each of `users` (raw ids) by `scorer`, the user's
/// training items excluded, as one HTML table: a row per rank, a column per
/// user, each cell the item's `title` column from `items` (its raw id when
/// it has none) — the "a few users' real top 10" table of every notebook.
/// An unknown user is an error naming it.
pub fn top_n_titles(
    scorer: &dyn crate::models::Scorer,
    users: &[&str],
    items: &crate::data::Features,
    n: usize,
) -> crate::Result<crate::display::Html> {
    let train = scorer.train();
    let mut columns = Vec::new();
    for &u in users {
        let idx = train.users().get(u).ok_or_else(|| {
            crate::Error::InvalidData(format!("user {u:?} is not in the model's training data"))
        })?;
        let titles: Vec<String> = scorer
            .recommend(idx, n, true)
            .into_iter()
            .map(|(i, _)| {
                let raw = train.items().raw(i);
                items.text("title", raw).unwrap_or(raw).to_string()
            })
            .collect();
        columns.push(titles);
    }
    Ok(crate::display::Html(titles_table(users, &columns, n)))
}

/// [`top_n_titles`]'s table from its columns (pure).
fn titles_table(users: &[&str], columns: &[Vec<String>], n: usize) -> String {
    let mut head = vec!["rank".to_string()];
    head.extend(users.iter().map(|u| format!("user {u}")));
    let rows: Vec<Vec<String>> = (0..n)
        .map(|k| {
            let mut row = vec![(k + 1).to_string()];
            row.extend(
                columns
                    .iter()
                    .map(|c| c.get(k).cloned().unwrap_or_default()),
            );
            row
        })
        .collect();
    html_table(Some(&format!("Top {n}, seen items excluded")), &head, &rows)
}

#[cfg(test)]
mod top_n_tests {
    use super::*;

    #[test]
    fn titles_table_has_a_row_per_rank_and_a_column_per_user() {
        let h = titles_table(
            &["1", "2"],
            &[vec!["A".into(), "B".into()], vec!["C".into()]],
            2,
        );
        assert!(h.contains("user 1") && h.contains("user 2") && h.contains("Top 2"));
        assert_eq!(h.matches("<tr>").count(), 3);
    }
}
