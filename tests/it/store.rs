//! The state store on both backends: SQLite against a real temporary file (a pooled
//! `:memory:` database would give each connection its own empty database), and
//! PostgreSQL against a database made for the test.

use crate::common::db::TempDb;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use sgsync::store::{Holder, Intent, Link, RunCounts, RunOutcome, Store, StoreError, UnitResult};
use std::time::Duration;

/// One test body, run on both backends: `<name>::sqlite` on a temporary file and
/// `<name>::postgres` on a database of its own (see [`TempDb::postgres`]).
macro_rules! both {
    ($(#[$attr:meta])* async fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: TempDb) $body

            $(#[$attr])*
            async fn sqlite() {
                body(TempDb::sqlite(stringify!($name))).await
            }

            $(#[$attr])*
            async fn postgres() {
                if let Some(db) = TempDb::postgres(stringify!($name)).await {
                    body(db).await
                }
            }
        }
    };
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 123_456_789)
        .unwrap()
}

fn link(source_id: &str, target: &str) -> Link {
    Link {
        source_provider: sgsync_gosquared::KIND.as_str().to_owned(),
        source_id: source_id.to_owned(),
        target: target.to_owned(),
        target_provider: sgsync_emfluence::KIND.as_str().to_owned(),
        target_id: format!("t-{source_id}"),
        stable_key: format!("sgsync:gosquared:{source_id}"),
        group_name: format!("Group {source_id}"),
        payload_hash: Some(format!("hash-{source_id}")),
        fidelity: "lossy".to_owned(),
        fidelity_reasons: "first reason\nsecond reason".to_owned(),
        last_result: Some(UnitResult::Created),
        last_error: None,
        created_at: at(0),
        updated_at: at(10),
    }
}

fn intent(source_id: &str, target: &str) -> Intent {
    Intent {
        source_provider: sgsync_gosquared::KIND.as_str().to_owned(),
        source_id: source_id.to_owned(),
        target: target.to_owned(),
        target_provider: sgsync_ispring::KIND.as_str().to_owned(),
        stable_key: format!("sgsync:gosquared:{source_id}"),
        group_name: format!("Group {source_id}"),
        payload_hash: "abc".to_owned(),
        created_at: at(5),
        sent: false,
    }
}

#[tokio::test]
async fn opens_twice_with_wal() {
    let db = TempDb::sqlite("open");
    let first = db.open().await;
    first.upsert_link(&link("1", "lms")).await.unwrap();
    drop(first);
    // Migrations already applied: opening again must neither fail nor lose data.
    let store = db.open().await;
    assert_eq!(store.links(None).await.unwrap().len(), 1);
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    assert!(store.integrity_check().await.unwrap());
}

both! {
    #[tokio::test]
    async fn link_round_trip_and_update(db) {
        let store = db.open().await;
        let original = link("42", "mail");
        store.upsert_link(&original).await.unwrap();
        let read = store
            .link(sgsync_gosquared::KIND, "42", "mail")
            .await
            .unwrap();
        assert_eq!(read.as_ref(), Some(&original));

        let mut changed = original.clone();
        changed.target_provider = sgsync_ispring::KIND.as_str().to_owned();
        changed.target_id = "other".to_owned();
        changed.group_name = "Renamed".to_owned();
        changed.payload_hash = None;
        changed.fidelity = "exact".to_owned();
        changed.fidelity_reasons = String::new();
        changed.last_result = Some(UnitResult::Failed);
        changed.last_error = Some("boom".to_owned());
        changed.created_at = at(1000);
        changed.updated_at = at(2000);
        store.upsert_link(&changed).await.unwrap();

        let read = store
            .link(sgsync_gosquared::KIND, "42", "mail")
            .await
            .unwrap()
            .unwrap();
        // The row keeps the time the group was first linked.
        assert_eq!(
            read,
            Link {
                created_at: original.created_at,
                ..changed
            }
        );
        assert_eq!(store.links(None).await.unwrap().len(), 1);

        assert!(
            store
                .set_link_result(
                    sgsync_gosquared::KIND,
                    "42",
                    "mail",
                    UnitResult::Updated,
                    None
                )
                .await
                .unwrap()
        );
        let read = store
            .link(sgsync_gosquared::KIND, "42", "mail")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.last_result, Some(UnitResult::Updated));
        assert_eq!(read.last_error, None);

        store.upsert_link(&link("7", "lms")).await.unwrap();
        assert_eq!(store.links(Some("lms")).await.unwrap().len(), 1);
        assert_eq!(store.links(None).await.unwrap().len(), 2);
        assert!(
            store
                .delete_link(sgsync_gosquared::KIND, "7", "lms")
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_link(sgsync_gosquared::KIND, "7", "lms")
                .await
                .unwrap()
        );
        assert_eq!(store.forget_links("mail").await.unwrap(), 1);
        assert!(store.links(None).await.unwrap().is_empty());
        assert!(
            store
                .link(sgsync_gosquared::KIND, "42", "mail")
                .await
                .unwrap()
                .is_none()
        );
    }
}

both! {
    #[tokio::test]
    async fn complete_intent_turns_intent_into_link(db) {
        let store = db.open().await;
        let i = intent("9", "lms");
        store.record_intent(&i).await.unwrap();
        store.record_intent(&i).await.unwrap(); // a replay is harmless
        assert_eq!(store.intents(None).await.unwrap(), vec![i.clone()]);
        assert_eq!(store.intents(Some("lms")).await.unwrap().len(), 1);
        assert!(store.intents(Some("mail")).await.unwrap().is_empty());

        let l = link("9", "lms");
        store.complete_intent(&l).await.unwrap();
        assert!(store.intents(None).await.unwrap().is_empty());
        assert_eq!(store.links(None).await.unwrap(), vec![l]);

        store.record_intent(&intent("10", "lms")).await.unwrap();
        assert!(
            store
                .drop_intent(sgsync_gosquared::KIND, "10", "lms")
                .await
                .unwrap()
        );
        assert!(store.intents(None).await.unwrap().is_empty());
    }
}

both! {
    #[tokio::test]
    async fn complete_intent_is_one_transaction(db) {
        let store = db.open().await;
        let i = intent("9", "lms");
        store.record_intent(&i).await.unwrap();
        // The intent is deleted first, then the link insert fails (a link must have a
        // target id): the delete must be rolled back with it.
        let mut bad = link("9", "lms");
        bad.target_id = String::new();
        let err = store.complete_intent(&bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Query { .. }), "{err:?}");
        assert_eq!(store.intents(None).await.unwrap(), vec![i]);
        assert!(store.links(None).await.unwrap().is_empty());
    }
}

both! {
    #[tokio::test]
    async fn forget_hashes_by_target_and_group(db) {
        let store = db.open().await;
        for (id, target) in [("1", "lms"), ("2", "lms"), ("1", "mail"), ("2", "mail")] {
            store.upsert_link(&link(id, target)).await.unwrap();
        }
        let hashes = |links: Vec<Link>| -> Vec<(String, String, bool)> {
            links
                .into_iter()
                .map(|l| (l.target, l.source_id, l.payload_hash.is_some()))
                .collect()
        };
        assert_eq!(store.forget_hashes(Some("lms"), None).await.unwrap(), 2);
        assert_eq!(store.forget_hashes(None, Some("1")).await.unwrap(), 2);
        assert_eq!(
            hashes(store.links(None).await.unwrap()),
            vec![
                ("lms".into(), "1".into(), false),
                ("lms".into(), "2".into(), false),
                ("mail".into(), "1".into(), false),
                ("mail".into(), "2".into(), true),
            ]
        );
        assert_eq!(
            store.forget_hashes(Some("mail"), Some("2")).await.unwrap(),
            1
        );
        assert!(
            store
                .links(None)
                .await
                .unwrap()
                .iter()
                .all(|l| l.payload_hash.is_none())
        );
        assert_eq!(store.forget_hashes(None, None).await.unwrap(), 4);
    }
}

both! {
    #[tokio::test]
    async fn runs_and_events_round_trip(db) {
        let store = db.open().await;
        let first = store.start_run(true).await.unwrap();
        let second = store.start_run(false).await.unwrap();
        let runs = store.recent_runs(10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].id, second);
        assert_eq!(runs[0].outcome, RunOutcome::Running);
        assert!(!runs[0].dry_run);
        assert!(runs[1].dry_run);
        assert_eq!(runs[0].finished_at, None);

        let counts = RunCounts {
            created: 1,
            updated: 2,
            unchanged: 3,
            skipped: 4,
            orphaned: 5,
            failed: 6,
            held: 7,
            deferred: 8,
            drift: 9,
            stale: 10,
        };
        assert!(
            store
                .finish_run(second, RunOutcome::Partial, counts, Some("two failed"))
                .await
                .unwrap()
        );
        let runs = store.recent_runs(1).await.unwrap();
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.outcome, RunOutcome::Partial);
        assert_eq!(run.counts, counts);
        assert_eq!(run.error.as_deref(), Some("two failed"));
        assert!(run.finished_at.is_some_and(|f| f >= run.started_at));

        let e1 = store
            .record_event(second, "1", "lms", "create", "ok", None)
            .await
            .unwrap();
        store
            .record_event(second, "2", "mail", "update", "failed", Some("409"))
            .await
            .unwrap();
        store
            .record_event(first, "3", "mail", "skip", "skipped: dry run", None)
            .await
            .unwrap();
        let events = store.events(second).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id, e1);
        assert_eq!(
            (
                events[1].run_id,
                events[1].source_id.as_str(),
                events[1].target.as_str(),
                events[1].action.as_str(),
                events[1].result.as_str(),
                events[1].error.as_deref(),
            ),
            (second, "2", "mail", "update", "failed", Some("409"))
        );

        // An event must belong to a run (foreign keys are on).
        assert!(
            store
                .record_event(9999, "1", "lms", "create", "ok", None)
                .await
                .is_err()
        );

        sqlx::query("DELETE FROM runs WHERE id = $1")
            .bind(second)
            .execute(store.pool())
            .await
            .unwrap();
        assert!(store.events(second).await.unwrap().is_empty());
        assert_eq!(store.events(first).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn run_outcome_text_round_trips() {
    for o in RunOutcome::ALL {
        assert_eq!(o.as_str().parse::<RunOutcome>(), Ok(o));
    }
    assert!("done".parse::<RunOutcome>().is_err());
}

/// A holder that recorded no process: only its lease or its release frees the lock.
fn anonymous(name: &str) -> Holder {
    Holder::with_process(name, None).unwrap()
}

both! {
    #[tokio::test]
    async fn lock_lease_holder_and_release(db) {
        let store = db.open().await;
        let lease = Duration::from_secs(60);
        let now = at(0);
        let (a, b) = (anonymous("cron-a"), anonymous("cron-b"));
        store.acquire_lock(&a, lease, now).await.unwrap();
        // Renewal by the same holder.
        store
            .renew_lock(&a, lease, now + ChronoDuration::seconds(30))
            .await
            .unwrap();

        match store
            .acquire_lock(&b, lease, now + ChronoDuration::seconds(60))
            .await
        {
            Err(StoreError::LockHeld { holder, until }) => {
                assert_eq!(holder, "cron-a");
                assert_eq!(until, now + ChronoDuration::seconds(90));
            }
            other => panic!("expected LockHeld, got {other:?}"),
        }
        // Someone else's renewal is refused: it does not hold the lock.
        assert!(matches!(
            store.renew_lock(&b, lease, now).await,
            Err(StoreError::LeaseLost { .. })
        ));

        // Only the holder can release.
        assert!(!store.release_lock(&b).await.unwrap());
        // After the lease runs out, another holder takes over, and the old one cannot
        // renew any more.
        store
            .acquire_lock(&b, lease, now + ChronoDuration::seconds(91))
            .await
            .unwrap();
        assert!(matches!(
            store
                .renew_lock(&a, lease, now + ChronoDuration::seconds(92))
                .await,
            Err(StoreError::LeaseLost { .. })
        ));
        assert!(!store.release_lock(&a).await.unwrap());
        assert!(store.release_lock(&b).await.unwrap());
        // Released: anyone may take it at once.
        store
            .acquire_lock(&a, lease, now + ChronoDuration::seconds(92))
            .await
            .unwrap();
    }
}

// Two containers on one volume are both pid 1 with the same host name: the lock knows
// its holder by a random token, so the second is refused however alike they look.
both! {
    #[tokio::test]
    async fn two_holders_with_the_same_pid_and_host_string_do_not_share_the_lock(db) {
        use sgsync::store::ProcessId;
        let store = db.open().await;
        let lease = Duration::from_secs(60);
        let now = Utc::now();
        let pid1 = ProcessId {
            pid: 1,
            namespace: "container-boot/pid:[4026532000]".into(),
        };
        let first = Holder::with_process("sgsync pid 1 on localhost", Some(pid1.clone())).unwrap();
        let second = Holder::with_process("sgsync pid 1 on localhost", Some(pid1)).unwrap();
        store.acquire_lock(&first, lease, now).await.unwrap();
        let refused = store.acquire_lock(&second, lease, now).await;
        assert!(
            matches!(refused, Err(StoreError::LockHeld { .. })),
            "{refused:?}"
        );
        assert!(matches!(
            store.renew_lock(&second, lease, now).await,
            Err(StoreError::LeaseLost { .. })
        ));
        // And a store fenced with the second one's token writes nothing.
        let fenced = store.fenced(second.token());
        assert!(matches!(
            fenced.start_run(false).await,
            Err(StoreError::LeaseLost { .. })
        ));
        store.fenced(first.token()).start_run(false).await.unwrap();
    }
}

both! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_acquirers_exactly_one_wins(db) {
        let a = db.open().await;
        let b = db.open().await;
        let now = Utc::now();
        let lease = Duration::from_secs(300);
        let (ha, hb) = (anonymous("process-a"), anonymous("process-b"));
        for round in 0..5 {
            let (ra, rb) = tokio::join!(
                a.acquire_lock(&ha, lease, now),
                b.acquire_lock(&hb, lease, now)
            );
            let wins = [ra.is_ok(), rb.is_ok()];
            assert_eq!(
                wins.iter().filter(|w| **w).count(),
                1,
                "round {round}: {ra:?} {rb:?}"
            );
            let loser = if ra.is_ok() { rb } else { ra };
            assert!(
                matches!(loser, Err(StoreError::LockHeld { .. })),
                "{loser:?}"
            );
            let winner = if wins[0] { &ha } else { &hb };
            assert!(a.release_lock(winner).await.unwrap());
        }
    }
}

// A run restarted after `kill -9` on the same machine takes the lock of the dead
// process at once; a live holder, a holder in another pid space and a holder that
// recorded no process keep it until their lease runs out.
both! {
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_lock_held_by_a_dead_process_is_taken_over_a_live_ones_is_not(db) {
        use sgsync::store::{LockGrant, ProcessId};
        let store = db.open().await;
        let lease = Duration::from_secs(300);
        let now = Utc::now();
        let me = ProcessId::current().expect("Linux gives a process identity");
        let process = |pid: u32| ProcessId {
            pid,
            namespace: me.namespace.clone(),
        };
        let restarted = Holder::with_process("restarted", Some(me.clone())).unwrap();

        // A live holder (a sleeping child process) keeps the lock.
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts");
        let live_holder = Holder::with_process("sgsync pid live", Some(process(live.id()))).unwrap();
        store.acquire_lock(&live_holder, lease, now).await.unwrap();
        let held = store.acquire_lock(&restarted, lease, now).await;
        assert!(
            matches!(held, Err(StoreError::LockHeld { ref holder, .. }) if holder == "sgsync pid live"),
            "{held:?}"
        );

        // Killed but not yet reaped (a zombie): it runs no code, so the lock is free.
        live.kill().unwrap();
        // Bounded: the kernel marks the child a zombie within moments of SIGKILL.
        for _ in 0..100 {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", live.id())).unwrap();
            if stat
                .rsplit_once(')')
                .unwrap()
                .1
                .trim_start()
                .starts_with('Z')
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            store.acquire_lock(&restarted, lease, now).await.unwrap(),
            LockGrant::HolderGone {
                previous: "sgsync pid live".into()
            }
        );
        live.wait().unwrap();
        // Now ours: a second holder of this (live) process finds it held.
        let second = Holder::with_process("second", Some(me.clone())).unwrap();
        let refused = store.acquire_lock(&second, lease, now).await;
        assert!(
            matches!(refused, Err(StoreError::LockHeld { .. })),
            "{refused:?}"
        );
        // A holder of this process that is gone (a run whose future was dropped) is free
        // at once: the process knows its live holders exactly.
        drop(second);
        let dropped = Holder::with_process("dropped run", Some(me.clone())).unwrap();
        assert!(store.release_lock(&restarted).await.unwrap());
        store.acquire_lock(&dropped, lease, now).await.unwrap();
        drop(dropped);
        assert_eq!(
            store.acquire_lock(&restarted, lease, now).await.unwrap(),
            LockGrant::HolderGone {
                previous: "dropped run".into()
            }
        );
        assert!(store.release_lock(&restarted).await.unwrap());

        // A dead pid from another pid space (another container or boot) is not judged.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        let elsewhere = Holder::with_process(
            "elsewhere",
            Some(ProcessId {
                pid: gone.id(),
                namespace: "another-boot/pid:[1]".into(),
            }),
        )
        .unwrap();
        store.acquire_lock(&elsewhere, lease, now).await.unwrap();
        let held = store.acquire_lock(&restarted, lease, now).await;
        assert!(matches!(held, Err(StoreError::LockHeld { .. })), "{held:?}");
        assert!(store.release_lock(&elsewhere).await.unwrap());

        // A holder that recorded no process is not judged either.
        let nobody = anonymous("anonymous");
        store.acquire_lock(&nobody, lease, now).await.unwrap();
        let held = store.acquire_lock(&restarted, lease, now).await;
        assert!(matches!(held, Err(StoreError::LockHeld { .. })), "{held:?}");
        assert!(store.release_lock(&nobody).await.unwrap());

        // The same dead pid in our own pid space: taken over at once.
        let dead = Holder::with_process("sgsync pid gone", Some(process(gone.id()))).unwrap();
        store.acquire_lock(&dead, lease, now).await.unwrap();
        assert_eq!(
            store.acquire_lock(&restarted, lease, now).await.unwrap(),
            LockGrant::HolderGone {
                previous: "sgsync pid gone".into()
            }
        );
        // A renewal is a renewal, and an expired lease is reported as such.
        assert_eq!(
            store.acquire_lock(&restarted, lease, now).await.unwrap(),
            LockGrant::Renewed
        );
        let later = now + ChronoDuration::seconds(301);
        let next = Holder::with_process("next", Some(me)).unwrap();
        assert_eq!(
            store.acquire_lock(&next, lease, later).await.unwrap(),
            LockGrant::LeaseExpired {
                previous: "restarted".into()
            }
        );
    }
}

// A row this build cannot read is `Corrupt`, never a panic. (Provider ids are kept as
// written: the store knows no provider, so an unknown one is simply never planned.)
both! {
    #[tokio::test]
    async fn an_unreadable_row_is_corrupt_not_panic(db) {
        let store = db.open().await;
        store.upsert_link(&link("1", "lms")).await.unwrap();
        sqlx::query("UPDATE links SET created_at = 'yesterday'")
            .execute(store.pool())
            .await
            .unwrap();
        match store.links(None).await {
            Err(StoreError::Corrupt { what, why }) => {
                assert_eq!(what, "link");
                assert!(why.contains("yesterday"), "{why}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }

        sqlx::query(
            "INSERT INTO runs (started_at, outcome, dry_run) VALUES ('2024-01-01T00:00:00Z', 'exploded', 0)",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert!(matches!(
            store.recent_runs(5).await,
            Err(StoreError::Corrupt { what: "run", .. })
        ));
    }
}

#[tokio::test]
async fn missing_directory_is_an_open_error_naming_the_path() {
    let db = TempDb::sqlite("missing");
    let path = db
        .url()
        .sqlite_path()
        .expect("a file")
        .with_extension("dir-that-does-not-exist")
        .join("state.db");
    let err = Store::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(!path.exists());
}

/// Four processes' worth of openers on a database nobody has set up yet (a CronJob, a
/// `status`, two workers): all succeed, and the schema is there once.
async fn openers_race(db: TempDb, round: usize) {
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().clone();
            tokio::spawn(async move { Store::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for opener in openers {
        let opened = opener.await.expect("task joins");
        assert!(opened.is_ok(), "round {round}: {opened:?}");
    }
    let store = db.open().await;
    assert!(store.links(None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_openers_of_a_new_database_all_succeed() {
    for round in 0..5 {
        openers_race(TempDb::sqlite("race"), round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_openers_of_a_new_postgres_database_all_succeed() {
    for round in 0..3 {
        let Some(db) = TempDb::postgres("race").await else {
            return;
        };
        openers_race(db, round).await;
    }
}

/// An unreachable server fails the open with its address and never the password.
#[tokio::test]
async fn an_unreachable_postgres_names_the_host_never_the_password() {
    // Port 1 on loopback: nothing listens there.
    let url = sgsync::store::StoreUrl::parse(
        "postgres://sgsync@127.0.0.1:1/sgsync",
        Some("pa55-never-shown"),
    )
    .unwrap();
    let err = Store::connect(&url).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, StoreError::Open { .. }), "{text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("pa55-never-shown"), "{text}");
}

// A database migrated by a newer sgsync (a migration this build does not know) is
// refused on both backends, not written to.
both! {
    #[tokio::test]
    async fn a_newer_schema_is_refused(db) {
        let store = db.open().await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (9999, 'from the future', TRUE, $1, 0)",
        )
        .bind(vec![0u8; 48])
        .execute(store.pool())
        .await
        .unwrap();
        drop(store);
        let err = Store::connect(db.url()).await.unwrap_err();
        assert!(matches!(err, StoreError::Migrate { .. }), "{err:?}");
        assert!(err.to_string().contains("9999"), "{err}");
    }
}

// Two pipelines in one database: the same source group and target name in each are two
// links; their intents, members, guards, runs and run locks never meet.
both! {
    #[tokio::test]
    async fn pipelines_share_a_database_and_nothing_else(db) {
        use sgsync::store::{MemberKey, ORPHAN_GUARD};
        let base = db.open().await;
        assert_eq!(base.pipeline(), sgsync::store::DEFAULT_PIPELINE);
        let (a, b) = (base.for_pipeline("tenant-a"), base.for_pipeline("tenant-b"));
        let mut la = link("42", "mail");
        la.target_id = "a-1".into();
        let mut lb = link("42", "mail");
        lb.target_id = "b-1".into();
        a.upsert_link(&la).await.unwrap();
        b.upsert_link(&lb).await.unwrap();
        assert_eq!(a.links(None).await.unwrap(), vec![la.clone()]);
        assert_eq!(b.links(None).await.unwrap(), vec![lb.clone()]);
        assert!(base.links(None).await.unwrap().is_empty());

        a.record_intent(&intent("7", "lms")).await.unwrap();
        assert_eq!(a.intents(None).await.unwrap().len(), 1);
        assert!(b.intents(None).await.unwrap().is_empty());

        let key = MemberKey {
            source_provider: sgsync_gosquared::KIND,
            source_id: "42",
            target: "mail",
        };
        let m = |s: &str| {
            sgsync::model::members::Email::normalise(&format!("{s}@example.test"))
                .expect("an address")
                .hash()
        };
        a.init_members(key, &[(m("x"), "c-1".into())]).await.unwrap();
        b.init_members(key, &[(m("y"), "c-2".into())]).await.unwrap();
        let (in_a, _) = a.synced_members(key).await.unwrap().unwrap();
        assert_eq!(in_a.into_iter().collect::<Vec<_>>(), vec![m("x")]);
        assert_eq!(b.contact_ids("mail", &[m("x"), m("y")]).await.unwrap().len(), 1);
        // Forgetting tenant a's link takes its members with it, not b's.
        assert!(a.delete_link(sgsync_gosquared::KIND, "42", "mail").await.unwrap());
        assert_eq!(a.synced_members(key).await.unwrap(), None);
        assert!(b.synced_members(key).await.unwrap().is_some());

        a.set_guard(ORPHAN_GUARD, 2, Some("held")).await.unwrap();
        assert_eq!(b.guard(ORPHAN_GUARD).await.unwrap(), (0, None));

        let run = a.start_run(false).await.unwrap();
        assert_eq!(a.recent_runs(5).await.unwrap().len(), 1);
        assert!(b.recent_runs(5).await.unwrap().is_empty());
        assert_eq!(b.interrupt_stale_runs().await.unwrap(), 0, "b has no running run");
        assert!(a.finish_run(run, RunOutcome::Succeeded, RunCounts::default(), None).await.unwrap());

        // One run lock per pipeline: both are held at once; each fences its own writes.
        let (ha, hb) = (anonymous("worker-1"), anonymous("worker-2"));
        let lease = Duration::from_secs(60);
        a.acquire_lock(&ha, lease, Utc::now()).await.unwrap();
        b.acquire_lock(&hb, lease, Utc::now()).await.unwrap();
        assert!(matches!(
            a.acquire_lock(&hb, lease, Utc::now()).await,
            Err(StoreError::LockHeld { .. })
        ));
        a.fenced(ha.token()).start_run(false).await.unwrap();
        assert!(matches!(
            b.fenced(ha.token()).start_run(false).await,
            Err(StoreError::LeaseLost { .. })
        ));
        assert!(a.release_lock(&ha).await.unwrap());
        assert!(!b.release_lock(&ha).await.unwrap(), "a's holder holds nothing of b");
        assert!(b.release_lock(&hb).await.unwrap());
    }
}

// A database from before pipelines (migrations 1–6, with a link, its members and
// membership, an intent, a guard, a run and a held run lock) keeps everything under the
// pipeline `default` when 7 runs; the cascade from a link to its members still holds.
both! {
    #[tokio::test]
    async fn a_database_from_before_pipelines_keeps_its_records_as_default(db) {
        use sgsync::model::members::MemberHash;
        use sgsync::store::{Backend, MemberKey, ORPHAN_GUARD};
        sqlx::any::install_default_drivers();
        let backend = if db.url().sqlite_path().is_some() {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let dir = tempfile::tempdir().unwrap();
        for m in backend.migrator().iter().filter(|m| m.version <= 6) {
            std::fs::write(
                dir.path().join(format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_"))),
                m.sql.as_ref(),
            )
            .unwrap();
        }
        let six = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
        let pool = sqlx::AnyPool::connect(&db.sqlx_url()).await.unwrap();
        six.run(&pool).await.unwrap();
        let now = "2026-01-01T00:00:00.000000000Z";
        for sql in [
            "INSERT INTO links (source_provider, source_id, target, target_provider, target_id,
                 stable_key, group_name, payload_hash, fidelity, fidelity_reasons, created_at, updated_at)
             VALUES ('gosquared', '42', 'mail', 'emfluence', 't-42', 'sgsync:gosquared:42', 'G',
                 'h', 'lossy', '', $1, $1)",
            "INSERT INTO members (source_provider, source_id, target, email_hash)
             VALUES ('gosquared', '42', 'mail', '00112233445566778899aabbccddeeff')",
            "INSERT INTO membership (source_provider, source_id, target, member_count, updated_at)
             VALUES ('gosquared', '42', 'mail', 1, $1)",
            "INSERT INTO intents (source_provider, source_id, target, target_provider, stable_key,
                 group_name, payload_hash, created_at, sent)
             VALUES ('gosquared', '7', 'lms', 'ispring', 'k', 'G7', 'h', $1, 1)",
            "INSERT INTO guards (name, held_runs, reason, updated_at) VALUES ('orphans', 1, 'r', $1)",
            "INSERT INTO runs (started_at, outcome, dry_run) VALUES ($1, 'succeeded', 0)",
            "INSERT INTO run_lock (id, holder, token, acquired_at, lease_until)
             VALUES (1, 'old run', 'old-token', $1, '2999-01-01T00:00:00.000000000Z')",
        ] {
            sqlx::query(sql).bind(now).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        pool.close().await;

        let store = db.open().await;
        assert_eq!(store.links(None).await.unwrap().len(), 1);
        assert_eq!(store.intents(None).await.unwrap().len(), 1);
        assert_eq!(store.guard(ORPHAN_GUARD).await.unwrap().0, 1);
        assert_eq!(store.recent_runs(5).await.unwrap().len(), 1);
        let key = MemberKey {
            source_provider: sgsync_gosquared::KIND,
            source_id: "42",
            target: "mail",
        };
        let (members, _) = store.synced_members(key).await.unwrap().unwrap();
        assert!(members.contains(
            &MemberHash::from_hex("00112233445566778899aabbccddeeff").expect("hex")
        ));
        // The old run's lock is `default`'s and still held.
        assert!(matches!(
            store.acquire_lock(&anonymous("new"), Duration::from_secs(60), Utc::now()).await,
            Err(StoreError::LockHeld { .. })
        ));
        assert!(store.for_pipeline("other").links(None).await.unwrap().is_empty());
        assert!(store.delete_link(sgsync_gosquared::KIND, "42", "mail").await.unwrap());
        assert_eq!(store.synced_members(key).await.unwrap(), None, "cascade");
        assert!(store.integrity_check().await.unwrap());
    }
}
