//! Two accounts of one provider: iSpring Learn account A (the demo account) → iSpring
//! Learn account B (a second account of the same company: the same names under its own
//! ids, without the "Support" department). Ids belong to an account, so a rule travels
//! by name and is given B's ids; a name B does not have is a reason, never a copied id.
//! And a directory that cannot be read fails the units that need it, and no others.

use sgsync::engine::run::RunOptions;
use sgsync::sandbox::ispring::Sandbox as Ispring;
use sgsync::sandbox::ispring::ids;
use sgsync::sandbox::{Fault, FaultPlan, Seed};
use sgsync_model::Fidelity;

struct Accounts {
    a: Ispring,
    b: Ispring,
    em: sgsync::sandbox::emfluence::Sandbox,
    dir: tempfile::TempDir,
}

async fn accounts() -> Accounts {
    Accounts {
        a: Ispring::start(Seed::Demo).await.expect("iSpring account A"),
        b: Ispring::start_second_account(Seed::Empty)
            .await
            .expect("iSpring account B"),
        em: sgsync::sandbox::emfluence::Sandbox::start(Seed::Empty)
            .await
            .expect("emfluence sandbox"),
        dir: tempfile::tempdir().expect("a temporary directory"),
    }
}

impl Accounts {
    /// A → B (`lms_b`) and A → emfluence (`newsletter`), with no id anywhere in the
    /// mapping: the accounts' directories say what each department, group and country
    /// is called. Profile fields are named in the mapping (a field unmapped is kept as
    /// an opaque rule, which only its own account may be given).
    fn config(&self) -> String {
        format!(
            "[source]\nprovider = \"ispring\"\nrate_limit_per_minute = 60000\n{a}\n\
             [targets.lms_b]\nprovider = \"ispring\"\non_lossy = \"push\"\nrate_limit_per_minute = 60000\n{b}\n\
             [targets.newsletter]\nprovider = \"emfluence\"\non_lossy = \"push\"\nmembership = \"off\"\nrate_limit_per_minute = 60000\n{em}\n\
             [store]\npath = \"{db}\"\n[http]\ntimeout_secs = 5\nbase_delay_ms = 5\nmax_delay_ms = 50\nmax_retries = 1\n\
             [mapping.attributes.job_title]\nispring_field = \"JOB_TITLE\"\n\
             [mapping.attributes.country]\nispring_field = \"COUNTRY\"\n\
             [metrics]\nenabled = false\n",
            a = self.a.config_toml("source.ispring"),
            b = self.b.config_toml("targets.lms_b.ispring"),
            em = self.em.config_toml("targets.newsletter.emfluence"),
            db = self.dir.path().join("sgsync.db").display(),
        )
    }

    async fn pipeline(&self) -> sgsync::engine::run::Pipeline {
        let settings = sgsync::config::load_str("accounts.toml", &self.config(), &[])
            .unwrap_or_else(|e| panic!("config: {e}"));
        sgsync::daemon::pipeline(&settings)
            .await
            .unwrap_or_else(|e| panic!("pipeline: {e}"))
    }
}

/// B's id of the department called `name`.
fn department_id(sandbox: &Ispring, name: &str) -> String {
    let found: Vec<_> = sandbox
        .departments()
        .into_iter()
        .filter(|d| d.name == name)
        .collect();
    assert_eq!(found.len(), 1, "one department {name:?}");
    found[0].id.clone()
}

#[tokio::test]
async fn a_rule_travels_between_two_accounts_by_name_with_the_target_accounts_ids() {
    let w = accounts().await;
    // The accounts really do disagree on ids (the hazard this guards against).
    let sales_b = department_id(&w.b, "Sales");
    assert_ne!(sales_b, ids::SALES);

    let pipeline = w.pipeline().await;
    let dry = pipeline.dry_run().await.expect("plan");
    let unit = |name: &str| {
        dry.plan
            .units
            .iter()
            .find(|u| u.target == "lms_b" && u.group_name.ends_with(name))
            .unwrap_or_else(|| panic!("a unit for {name}"))
    };
    // Sales (with descendants) ∧ job title ∧ country: every name is in B.
    let canada = unit("Sales managers in Canada");
    assert_eq!(canada.fidelity, Some(Fidelity::Exact));
    // Support ∨ Marketing: B has no "Support"; the reason says which and where.
    let support = unit("Support or Marketing");
    let fidelity = support.fidelity.clone().expect("a verdict");
    assert!(!fidelity.is_exact(), "{fidelity}");
    let why = fidelity.to_string();
    assert!(
        why.contains("department \"Support\"") && why.contains("lms_b"),
        "{why}"
    );

    let summary = pipeline
        .sync("accounts-test", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(summary.report.failed(), 0, "{:?}", summary.report.outcomes);

    // What B holds uses B's ids only, and no id of A anywhere.
    let pushed =
        w.b.smart_groups()
            .into_iter()
            .find(|g| g.name.ends_with("Sales managers in Canada"))
            .expect("the group was created in B");
    let rules = pushed.rules.expect("a smart group");
    let values: Vec<&str> = rules.iter().flatten().map(|r| r.value.as_str()).collect();
    assert!(values.contains(&sales_b.as_str()), "{values:?}");
    let a_ids: Vec<String> = w.a.departments().into_iter().map(|d| d.id).collect();
    assert!(
        values.iter().all(|v| !a_ids.iter().any(|a| a == v)),
        "an id of account A reached account B: {values:?}"
    );
    // The group B could not say was not written there with A's id either.
    assert!(!w.b.groups().iter().any(|g| {
        g.name.ends_with("Support or Marketing")
            && g.rules
                .iter()
                .flatten()
                .flatten()
                .any(|r| r.value == ids::SUPPORT)
    }),);
    // And the members B computes are B's own people in Sales.
    let members = w.b.members(
        &w.b.smart_groups()
            .into_iter()
            .find(|g| g.name.ends_with("Sales managers in Canada"))
            .map(|g| g.id)
            .unwrap_or_default(),
    );
    assert!(!members.is_empty(), "B's Sales managers in Canada");
}

#[tokio::test]
async fn a_target_directory_that_cannot_be_read_fails_only_the_units_that_need_it() {
    let w = accounts().await;
    // B's departments cannot be read this run (every attempt answers 503).
    w.b.running.controls.set_plan(FaultPlan {
        script: vec![Fault::Status(503); 8].into(),
        only_containing: vec!["GetDepartmentsRequest".into()],
        ..FaultPlan::default()
    });
    let summary = w
        .pipeline()
        .await
        .sync("accounts-test", RunOptions::default())
        .await
        .expect("the run itself goes on");
    let failed: Vec<_> = summary
        .report
        .outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .collect();
    assert!(!failed.is_empty(), "B's units fail");
    for o in &failed {
        assert_eq!(o.target, "lms_b", "only B's units fail: {o:?}");
        let why = o.result.as_ref().err().cloned().unwrap_or_default();
        assert!(
            why.contains("lms_b") && why.contains("getDepartments"),
            "the error names the account and the call: {why}"
        );
    }
    // Nothing was written to B on a guess, and emfluence went on.
    assert!(w.b.smart_groups().is_empty());
    assert!(
        summary
            .report
            .outcomes
            .iter()
            .any(|o| o.target == "newsletter" && o.result.is_ok()),
        "{:?}",
        summary.report.outcomes
    );
}

#[tokio::test]
async fn check_lists_each_mapping_entry_an_account_lacks_and_exits_1() {
    let w = accounts().await;
    let config = format!(
        "{}[mapping.departments]\nemea = \"EMEA\"\nsupport = \"Support\"\n[mapping.values.country]\nCA = \"Canada\"\n",
        w.config()
    );
    let path = w.dir.path().join("sgsync.toml");
    std::fs::write(&path, config).expect("config written");
    let check = |path: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_sgsync"))
                .arg("check")
                .arg("--config")
                .arg(path)
                .output()
                .expect("sgsync check runs")
        })
    };
    let out = check(path.clone()).await.expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // A has Support; B does not: the line names the key, the name and the account.
    assert!(
        stdout.contains(
            "mapping.departments.support: there is no department \"Support\" in iSpring Learn account \"lms_b\""
        ),
        "{stdout}"
    );
    assert_eq!(stdout.matches("there is no").count(), 1, "{stdout}");
    assert!(stdout.contains("source "), "{stdout}");

    // Without the entry B lacks, the mapping works in every account.
    let fixed = std::fs::read_to_string(&path)
        .expect("config read")
        .replace("support = \"Support\"\n", "");
    std::fs::write(&path, fixed).expect("config written");
    let out = check(path).await.expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}
