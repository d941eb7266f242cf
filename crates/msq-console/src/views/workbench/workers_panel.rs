//! The in-browser workers (Acorn's stand-in for Druid's task slots): how many the active tab's
//! `maxNumTasks` asks for, and each worker's state, wasm memory, transfer check and round
//! trip.
//!
//! The panel owns the [`WorkerPool`]: an effect (the pool is outside the reactive system)
//! starts it with `maxNumTasks − 1` workers (capped by `hardwareConcurrency`) and restarts it
//! when that number changes; the pool's change callback writes the snapshot signal the rows
//! read. A failed worker stays in the list, in red, with its reason.

use crate::format;
use crate::query_context::QueryContext;
use leptos::prelude::*;
use msq_protocol::sizing::{worker_count, WorkerCount};
use msq_wasm::pool::{
    hardware_concurrency, PoolSnapshot, WorkerPool, WorkerState, WorkerView, WORKER_SCRIPT,
};

/// The worker pool of the page, sized from the active tab's context.
#[component]
pub fn WorkersPanel(
    /// The active tab's context.
    #[prop(into)]
    context: Signal<QueryContext>,
) -> impl IntoView {
    let cores = hardware_concurrency();
    let sizing: Memo<Result<WorkerCount, String>> = Memo::new(move |_| {
        context.with(|c| worker_count(&c.to_druid(), cores).map_err(|e| e.to_string()))
    });
    let max_num_tasks = Memo::new(move |_| context.with(|c| c.max_num_tasks));
    let wanted = Memo::new(move |_| sizing.with(|s| s.as_ref().ok().map(|c| c.workers)));
    let snapshot = RwSignal::new(PoolSnapshot::default());
    let pool = StoredValue::new_local(None::<WorkerPool>);

    // Sync the pool (outside world) with the wanted worker count.
    Effect::new(move |_| {
        let n = wanted.get();
        pool.update_value(|p| {
            if let Some(old) = p.take() {
                old.terminate();
            }
        });
        snapshot.set(PoolSnapshot::default());
        if let Some(n) = n {
            let started = WorkerPool::start(WORKER_SCRIPT, n, move |s: &PoolSnapshot| {
                let _ = snapshot.try_set(s.clone());
            });
            pool.set_value(Some(started));
        }
    });
    on_cleanup(move || {
        if let Some(p) = pool.try_update_value(Option::take).flatten() {
            p.terminate();
        }
    });

    let summary = move || match sizing.get() {
        Err(e) => e,
        Ok(count) => {
            let (ready, total) = snapshot.with(|s| (s.ready_count(), s.workers.len()));
            let total = if total == 0 { count.workers } else { total };
            format!(
                "{ready} of {total} {} ready (maxNumTasks {} − 1 controller)",
                if total == 1 { "worker" } else { "workers" },
                max_num_tasks.get()
            )
        }
    };
    let capped_note = move || match sizing.get() {
        Ok(c) if c.capped => Some(view! {
            <p class="workers-note" id="workers-capped">
                {format!(
                    "Capped at {} by navigator.hardwareConcurrency ({cores}); the context asks for {}.",
                    plural(c.workers, "worker"),
                    plural(c.requested, "worker")
                )}
            </p>
        }),
        _ => None,
    };
    let failed = move || snapshot.with(|s| s.failed_count() > 0);

    view! {
        <section class="side-panel workers-panel" id="workers-panel">
            <div class="side-panel-header">
                <h3 class="side-panel-title">"Workers"</h3>
                <button
                    id="workers-refresh"
                    class="button button-small"
                    title="Ping every worker"
                    on:click=move |_| pool.with_value(|p| {
                        if let Some(p) = p {
                            p.refresh();
                        }
                    })
                >
                    "Refresh"
                </button>
            </div>
            <p
                id="workers-summary"
                class="workers-summary"
                class:workers-error=move || sizing.with(Result::is_err) || failed()
            >
                {summary}
            </p>
            {capped_note}
            <div class="table-scroll">
            <table class="data-table workers-table">
                <thead>
                    <tr>
                        <th>"Worker"</th>
                        <th>"State"</th>
                        <th class="num">"Memory"</th>
                        <th title="A 64 KiB frame sent in the transfer list came back intact">"Transfer"</th>
                        <th class="num" title="Round trip of the latest request">"RTT"</th>
                    </tr>
                </thead>
                {move || snapshot.with(|s| s.workers.iter().map(worker_row).collect_view())}
            </table>
            </div>
        </section>
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// One worker as a `<tbody class="worker-row">`: its line, plus a full-width line with the
/// reason when it failed (so a long reason never squeezes the columns).
fn worker_row(w: &WorkerView) -> impl IntoView {
    let (state_text, reason) = match &w.state {
        WorkerState::Starting => ("Starting", None),
        WorkerState::Ready => ("Ready", None),
        WorkerState::Failed { reason } => ("Failed", Some(reason.clone())),
    };
    let memory = w.memory_bytes.map_or_else(|| "–".to_owned(), format::bytes);
    let (transfer, transfer_class) = match w.transfer_check {
        Some(true) => ("✓", "check-ok"),
        Some(false) => ("✗", "check-failed"),
        None => ("–", "check-none"),
    };
    let round_trip = w.round_trip_ms.map_or_else(
        || "–".to_owned(),
        |ms| {
            if ms < 10.0 {
                format!("{ms:.1} ms")
            } else {
                format!("{} ms", format::rounded(ms))
            }
        },
    );
    view! {
        <tbody class=format!("worker-row worker-{}", w.state.as_str()) data-state=w.state.as_str() data-worker=w.number>
            <tr>
                <td class="worker-name">{format!("Worker {}", w.number)}</td>
                <td class="worker-state">{state_text}</td>
                <td class="num">{memory}</td>
                <td class=transfer_class>{transfer}</td>
                <td class="num">{round_trip}</td>
            </tr>
            {reason.map(|r| view! { <tr class="worker-reason"><td colspan="5">{format!("Failed: {r}")}</td></tr> })}
        </tbody>
    }
}
