//! Mounting: the panel's state, its event listeners, and the async actions they start.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, Element, Event, EventTarget, HtmlElement};

use super::setup::SetupData;
use super::{home, setup};
use crate::api::Backend;
use crate::error::{JsResult, MsSyncError, invalid_argument};
use crate::spawn_guarded;
use crate::views::{HomeView, SetupOptions, SetupView};

/// The options a panel takes. Anything else (a user id, a sealing key, endpoints) is refused:
/// the page never names a user and holds no secret.
const PANEL_OPTIONS: &[&str] = &["allowSyncNow"];

/// The event every panel fires on its document after an action, so the others refresh.
const CHANGE_EVENT: &str = "mssync:change";

thread_local! {
    static NEXT_PANEL: Cell<u32> = const { Cell::new(1) };
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Setup,
    Home,
}

struct Panel {
    kind: Kind,
    /// Prefix of every element id, unique in the page.
    id: String,
    root: Element,
    backend: Backend,
    allow_sync_now: bool,
    setup: SetupData,
    home: Option<HomeView>,
    /// The user's zone (IANA) from Setup, which Home shows times in.
    zone: Option<String>,
    error: Option<MsSyncError>,
    /// An action or the first load is under way; actions asked for meanwhile wait in `queue`.
    busy: bool,
    /// Actions in the order the user asked for them: none is dropped, a quick second choice
    /// runs after the first.
    queue: VecDeque<Action>,
}

type Shared = Rc<RefCell<Panel>>;

/// What a control asks for.
enum Action {
    Company(String),
    Location(String),
    Zone(String),
    Policy(String),
    ToggleJob(String),
    FullRefresh(String),
    SyncNow(String),
}

/// An event listener the panel added: where, for which event, and the closure to remove.
type Listener = (EventTarget, &'static str, Closure<dyn FnMut(Event)>);

/// A mounted panel: `refresh()` re-reads and re-renders, `unmount()` empties the element and
/// removes the listeners.
#[wasm_bindgen(js_name = Panel)]
pub struct PanelHandle {
    panel: Shared,
    listeners: Vec<Listener>,
}

#[wasm_bindgen(js_class = Panel)]
impl PanelHandle {
    /// Re-reads the views and renders them.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn refresh(&self) -> Promise {
        let panel = self.panel.clone();
        spawn_guarded(async move {
            reload(&panel, true).await;
            render(&panel);
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Removes the panel from its element; the handle is spent.
    pub fn unmount(&mut self) {
        self.remove_listeners();
        self.panel.borrow().root.set_inner_html("");
    }
}

impl PanelHandle {
    fn remove_listeners(&mut self) {
        for (target, name, listener) in self.listeners.drain(..) {
            let _ =
                target.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}

impl Drop for PanelHandle {
    fn drop(&mut self) {
        self.remove_listeners();
    }
}

/// `mountSetupPanel(element, host, options?): Promise<Panel>`.
#[wasm_bindgen(js_name = mountSetupPanel, unchecked_return_type = "Promise<Panel>")]
pub fn mount_setup_panel(
    element: Element,
    #[wasm_bindgen(unchecked_param_type = "PanelHost")] host: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PanelOptions | undefined")] options: JsValue,
) -> JsResult<Promise> {
    mount(Kind::Setup, element, &host, &options)
}

/// `mountHomePanel(element, host, options?): Promise<Panel>`.
#[wasm_bindgen(js_name = mountHomePanel, unchecked_return_type = "Promise<Panel>")]
pub fn mount_home_panel(
    element: Element,
    #[wasm_bindgen(unchecked_param_type = "PanelHost")] host: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PanelOptions | undefined")] options: JsValue,
) -> JsResult<Promise> {
    mount(Kind::Home, element, &host, &options)
}

fn mount(kind: Kind, root: Element, host: &JsValue, options: &JsValue) -> JsResult<Promise> {
    let backend = Backend::from_js(host)?;
    let mut allow_sync_now = true;
    if !options.is_undefined() && !options.is_null() {
        let object = options
            .dyn_ref::<Object>()
            .ok_or_else(|| invalid_argument("options must be an object"))?;
        for key in Object::keys(object).iter().filter_map(|k| k.as_string()) {
            if !PANEL_OPTIONS.contains(&key.as_str()) {
                return Err(invalid_argument(format!(
                    "options.{key} is not a panel option: the page names no user and holds no \
                     secret; its backend knows who signed in"
                )));
            }
        }
        let allow = Reflect::get(options, &"allowSyncNow".into()).unwrap_or(JsValue::UNDEFINED);
        allow_sync_now = allow.as_bool() != Some(false);
    }
    let number = NEXT_PANEL.with(|n| n.replace(n.get() + 1));
    let panel = Rc::new(RefCell::new(Panel {
        kind,
        id: format!("mssync-{number}"),
        root: root.clone(),
        backend,
        allow_sync_now,
        setup: SetupData {
            setup: None,
            options: None,
            home: None,
        },
        home: None,
        zone: None,
        error: None,
        busy: true,
        queue: VecDeque::new(),
    }));
    render(&panel);

    let mut listeners = Vec::new();
    for name in ["click", "change"] {
        let target: EventTarget = root.clone().into();
        let own = panel.clone();
        let listener =
            Closure::<dyn FnMut(Event)>::new(move |event: Event| on_control(&own, &event));
        target.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())?;
        listeners.push((target, name, listener));
    }
    if let Some(document) = root.owner_document() {
        let target: EventTarget = document.into();
        let own = panel.clone();
        let listener =
            Closure::<dyn FnMut(Event)>::new(move |event: Event| on_other_change(&own, &event));
        target.add_event_listener_with_callback(CHANGE_EVENT, listener.as_ref().unchecked_ref())?;
        listeners.push((target, CHANGE_EVENT, listener));
    }

    let handle = PanelHandle {
        panel: panel.clone(),
        listeners,
    };
    Ok(spawn_guarded(async move {
        reload(&panel, true).await;
        // Actions asked for during the first load run now.
        drain(&panel).await;
        Ok(handle.into())
    }))
}

/// A click or change inside the panel: finds the control and starts its action.
fn on_control(panel: &Shared, event: &Event) {
    let Some(control) = event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|e| e.closest("[data-action]").ok().flatten())
    else {
        return;
    };
    let action_name = control.get_attribute("data-action").unwrap_or_default();
    let is_select = control.tag_name().eq_ignore_ascii_case("select");
    // Selects act on `change`, buttons on `click` (which keyboards fire too).
    if is_select != (event.type_() == "change") {
        return;
    }
    let value = Reflect::get(&control, &"value".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let job = || control.get_attribute("data-job").filter(|j| !j.is_empty());
    let action = match action_name.as_str() {
        "company" => Action::Company(value),
        "location" => Action::Location(value),
        "zone" => Action::Zone(value),
        "policy" => Action::Policy(value),
        "job" => match job() {
            Some(j) => Action::ToggleJob(j),
            None => return,
        },
        "full-refresh" => match job() {
            Some(j) => Action::FullRefresh(j),
            None => return,
        },
        "sync" => match job() {
            Some(j) => Action::SyncNow(j),
            None => return,
        },
        _ => return,
    };
    let start = {
        let mut p = panel.borrow_mut();
        p.queue.push_back(action);
        !std::mem::replace(&mut p.busy, true)
    };
    if start {
        render(panel);
        let panel = panel.clone();
        // The promise only matters to the panel itself: its outcome is rendered.
        let _ = spawn_guarded(async move {
            drain(&panel).await;
            Ok(JsValue::UNDEFINED)
        });
    }
}

/// Runs the queued actions one after another, then leaves the busy state.
async fn drain(panel: &Shared) {
    loop {
        let next = panel.borrow_mut().queue.pop_front();
        match next {
            Some(action) => act(panel, action).await,
            None => break,
        }
    }
    panel.borrow_mut().busy = false;
    render(panel);
}

/// Another panel on the page changed something: show it here too.
fn on_other_change(panel: &Shared, event: &Event) {
    let source = event
        .dyn_ref::<CustomEvent>()
        .and_then(|e| Reflect::get(&e.detail(), &"panel".into()).ok())
        .and_then(|v| v.as_string());
    if source.as_deref() == Some(panel.borrow().id.as_str()) {
        return;
    }
    let panel = panel.clone();
    let _ = spawn_guarded(async move {
        reload(&panel, false).await;
        render(&panel);
        Ok(JsValue::UNDEFINED)
    });
}

/// One action: run it, re-read the views, render, and tell the page's other panels.
async fn act(panel: &Shared, action: Action) {
    let backend = {
        let mut p = panel.borrow_mut();
        p.error = None;
        p.backend.clone()
    };
    let outcome = run(panel, &backend, action).await;
    panel.borrow_mut().error = outcome.err();
    reload(panel, false).await;
    render(panel);
    announce_change(panel);
}

async fn run(panel: &Shared, backend: &Backend, action: Action) -> Result<(), MsSyncError> {
    let (operation, request) = match action {
        Action::Company(company) => ("set_company", json!({ "company_id": company })),
        Action::Location(location) => ("set_company", json!({ "location_id": location })),
        Action::Zone(zone) => ("change_setup", json!({ "time_zone": zone })),
        Action::Policy(policy) => ("change_setup", json!({ "policy": policy })),
        Action::ToggleJob(job) => {
            let enabled = panel
                .borrow()
                .setup
                .setup
                .as_ref()
                .and_then(|s| s.jobs.iter().find(|j| j.job == job))
                .is_some_and(|j| j.enabled);
            (
                "set_job_enabled",
                json!({ "job": job, "enabled": !enabled }),
            )
        }
        Action::FullRefresh(job) => ("request_full_refresh", json!({ "job": job })),
        Action::SyncNow(job) => ("sync_now", json!({ "job": job })),
    };
    backend
        .call::<serde_json::Value>(operation, request)
        .await
        .map(drop)
}

/// Re-reads what the panel shows. `with_options` also re-reads Setup's choices from ERP.net.
async fn reload(panel: &Shared, with_options: bool) {
    let (kind, backend) = {
        let p = panel.borrow();
        (p.kind, p.backend.clone())
    };
    let mut first_error = None;
    let empty = || json!({});
    let setup: Option<SetupView> = keep(&mut first_error, backend.call("setup", empty()).await);
    match kind {
        Kind::Setup => {
            let options = if with_options || panel.borrow().setup.options.is_none() {
                keep::<SetupOptions>(
                    &mut first_error,
                    backend.call("setup_options", empty()).await,
                )
            } else {
                panel.borrow().setup.options.clone()
            };
            let home = keep(&mut first_error, backend.call("home", empty()).await);
            let mut p = panel.borrow_mut();
            p.zone = setup.as_ref().map(|s| s.time_zone_iana.clone());
            p.setup = SetupData {
                setup,
                options,
                home,
            };
        }
        Kind::Home => {
            let home = keep(&mut first_error, backend.call("home", empty()).await);
            let mut p = panel.borrow_mut();
            p.zone = setup.map(|s| s.time_zone_iana);
            p.home = home;
        }
    }
    let mut p = panel.borrow_mut();
    // The action's own error says most; a failed read shows when there was none.
    if p.error.is_none() {
        p.error = first_error;
    }
}

/// The value of a read, remembering the first error.
fn keep<T>(first_error: &mut Option<MsSyncError>, result: Result<T, MsSyncError>) -> Option<T> {
    result
        .map_err(|e| first_error.get_or_insert(e).clone())
        .ok()
}

/// Renders the panel, keeping keyboard focus on the control that had it.
fn render(panel: &Shared) {
    let p = panel.borrow();
    let html = match p.kind {
        Kind::Setup => setup::render(&p.id, &p.setup, p.error.as_ref(), p.busy),
        Kind::Home => home::render(
            &p.id,
            p.home.as_ref(),
            p.zone.as_deref(),
            p.error.as_ref(),
            p.busy,
            p.allow_sync_now,
        ),
    };
    let document = p.root.owner_document();
    let focused = document
        .as_ref()
        .and_then(|d| d.active_element())
        .filter(|e| p.root.contains(Some(e)))
        .map(|e| e.id())
        .filter(|id| !id.is_empty());
    p.root.set_inner_html(&html);
    if let (Some(document), Some(id)) = (document, focused)
        && let Some(element) = document.get_element_by_id(&id)
        && let Ok(element) = element.dyn_into::<HtmlElement>()
    {
        let _ = element.focus();
    }
}

/// Tells the page's other panels that this one changed something.
fn announce_change(panel: &Shared) {
    let p = panel.borrow();
    let Some(document) = p.root.owner_document() else {
        return;
    };
    let detail = js_sys::Object::new();
    let _ = Reflect::set(&detail, &"panel".into(), &p.id.as_str().into());
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(CHANGE_EVENT, &init) {
        let _ = document.dispatch_event(&event);
    }
}
