//! The in-browser engine's worker threads (Acorn's stand-in for Druid's task slots): the Web
//! Workers its stage work runs on, each with its state, wasm memory, running and finished work
//! orders and the stage output it holds — read from `GET /druid/indexer/v1/workers` once a
//! second (the engine asks every thread; nothing here is guessed), and how many workers the
//! active tab's `maxNumTasks` asks for.
//!
//! Druid runs `maxNumTasks − 1` workers per query; here they run on the engine's threads, and
//! when a query asks for more workers than there are threads, several share one (the report
//! still numbers them as Druid does).

use crate::format;
use crate::query_context::QueryContext;
use crate::worker_threads::{parse_workers, WorkerThread};
use gloo::timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msq_protocol::api::ApiCall;
use msq_protocol::sizing::{worker_count, WorkerCount};

/// How often the panel asks the engine for its threads.
pub const REFRESH_EVERY_MS: u32 = 1000;

/// What the last refresh found.
#[derive(Debug, Clone, PartialEq)]
enum Threads {
    /// No answer yet.
    Loading,
    /// The engine's threads.
    Listed(Vec<WorkerThread>),
    /// The engine could not be asked, or its answer could not be read.
    Unavailable(String),
}

async fn fetch_threads() -> Threads {
    let engine = match crate::runner::in_browser_engine() {
        Ok(engine) => engine,
        Err(e) => {
            return Threads::Unavailable(format!("the in-browser engine is not running: {e}"))
        }
    };
    let response = engine.call(ApiCall::Workers).await;
    if !response.is_success() {
        return Threads::Unavailable(format!(
            "the engine answered {} to GET /druid/indexer/v1/workers: {}",
            response.status, response.body
        ));
    }
    match parse_workers(&response.body) {
        Ok(threads) => Threads::Listed(threads),
        Err(e) => Threads::Unavailable(e),
    }
}

/// The engine's worker threads, and what the active tab's context asks for.
#[component]
pub fn WorkersPanel(
    /// The active tab's context.
    #[prop(into)]
    context: Signal<QueryContext>,
) -> impl IntoView {
    let sizing: Memo<Result<WorkerCount, String>> = Memo::new(move |_| {
        // The threads are the engine's; the context only says how many Druid workers a query
        // asks for, so no cap applies here.
        context.with(|c| worker_count(&c.to_druid(), u32::MAX).map_err(|e| e.to_string()))
    });
    let max_num_tasks = Memo::new(move |_| context.with(|c| c.max_num_tasks));
    let threads = RwSignal::new(Threads::Loading);

    let refresh = move || {
        spawn_local(async move {
            let found = fetch_threads().await;
            let _ = threads.try_set(found);
        });
    };
    // Poll while the panel is mounted: `try_set` hands the value back once the signal is
    // disposed (the panel unmounted), which ends the loop.
    spawn_local(async move {
        loop {
            let found = fetch_threads().await;
            if threads.try_set(found).is_some() {
                break;
            }
            TimeoutFuture::new(REFRESH_EVERY_MS).await;
        }
    });

    let summary = move || {
        let asked = match sizing.get() {
            Err(e) => return e,
            Ok(count) => count.requested,
        };
        let asks = format!(
            "maxNumTasks {} asks for {}",
            max_num_tasks.get(),
            plural(asked, "worker")
        );
        threads.with(|t| match t {
            Threads::Loading => format!("Asking the engine… ({asks})"),
            Threads::Unavailable(e) => e.clone(),
            Threads::Listed(list) if list.is_empty() => format!(
                "Stage work runs inside the engine's own worker: this browser could not start \
                 worker threads from it ({asks})."
            ),
            Threads::Listed(list) => {
                let ready = list.iter().filter(|t| t.state.is_ok()).count();
                let mut text = format!(
                    "{ready} of {} ready · {asks}",
                    plural(list.len(), "worker thread")
                );
                if asked > list.len() {
                    text.push_str(&format!("; beyond {} they share threads", list.len()));
                }
                text
            }
        })
    };
    let trouble = move || {
        threads.with(|t| match t {
            Threads::Unavailable(_) => true,
            Threads::Listed(list) => list.iter().any(|t| t.state.is_err()),
            Threads::Loading => false,
        }) || sizing.with(Result::is_err)
    };

    view! {
        <section class="side-panel workers-panel" id="workers-panel">
            <div class="side-panel-header">
                <h3 class="side-panel-title">"Workers"</h3>
                <button
                    id="workers-refresh"
                    class="button button-small"
                    title="Ask every worker thread again"
                    on:click=move |_| refresh()
                >
                    "Refresh"
                </button>
            </div>
            <p id="workers-summary" class="workers-summary" class:workers-error=trouble>
                {summary}
            </p>
            <div class="table-scroll">
            <table class="data-table workers-table">
                <thead>
                    <tr>
                        // Short headers: six columns fit the side panel without scrolling.
                        <th title="Worker thread">"#"</th>
                        <th>"State"</th>
                        <th class="num">"Memory"</th>
                        <th class="num" title="Work orders running now (currCapacityUsed)">"Run"</th>
                        <th class="num" title="Work orders finished since the thread started">"Done"</th>
                        <th class="num" title="Stage output held for its consumers">"Shuffle"</th>
                    </tr>
                </thead>
                {move || threads.with(|t| match t {
                    Threads::Listed(list) => list.iter().map(thread_row).collect_view().into_any(),
                    _ => ().into_any(),
                })}
            </table>
            </div>
        </section>
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// One thread as a `<tbody class="worker-row">`: its line, plus a full-width line with the
/// reason when it failed (so a long reason never squeezes the columns).
fn thread_row(t: &WorkerThread) -> impl IntoView {
    let state = t.state_name();
    let (state_text, cells, reason) = match &t.state {
        Ok(v) => (
            "Ready",
            [
                format::bytes(v.memory_bytes),
                format::count(v.running),
                format::count(v.run),
                format::bytes(v.shuffle_bytes),
            ],
            None,
        ),
        Err(e) => ("Failed", Default::default(), Some(e.clone())),
    };
    let [memory, running, run, shuffle] = cells;
    view! {
        <tbody class=format!("worker-row worker-{state}") data-state=state data-worker=t.number>
            <tr>
                <td class="worker-name" title=t.host.clone()>{format!("#{}", t.number)}</td>
                <td class="worker-state">{state_text}</td>
                <td class="num">{memory}</td>
                <td class="num worker-running">{running}</td>
                <td class="num worker-done">{run}</td>
                <td class="num">{shuffle}</td>
            </tr>
            {reason.map(|r| view! { <tr class="worker-reason"><td colspan="6">{format!("Failed: {r}")}</td></tr> })}
        </tbody>
    }
}
