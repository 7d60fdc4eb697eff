//! Mounting: the panel's state, its event listeners, and the async actions they start.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use mssync_core::PublicError;
use mssync_core::app::{App, ConflictPolicy, HomeView, JobKind, SetupChange};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, Element, Event, EventTarget, HtmlElement};

use super::setup::SetupData;
use super::{home, setup};
use crate::app::AppOptions;
use crate::error::{JsResult, invalid_argument};
use crate::spawn_guarded;

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
    app: App,
    user: String,
    allow_sync_now: bool,
    setup: SetupData,
    home: Option<HomeView>,
    error: Option<PublicError>,
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
    ToggleJob(JobKind),
    FullRefresh(JobKind),
    SyncNow(JobKind),
}

/// A mounted panel: `refresh()` re-reads and re-renders, `unmount()` empties the element and
/// removes the listeners.
#[wasm_bindgen(js_name = Panel)]
pub struct PanelHandle {
    panel: Shared,
    listeners: Vec<(EventTarget, &'static str, Closure<dyn FnMut(Event)>)>,
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

/// `mountSetupPanel(element, host, options): Promise<Panel>`.
#[wasm_bindgen(js_name = mountSetupPanel, unchecked_return_type = "Promise<Panel>")]
pub fn mount_setup_panel(
    element: Element,
    #[wasm_bindgen(unchecked_param_type = "MsSyncHost")] host: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PanelOptions")] options: JsValue,
) -> JsResult<Promise> {
    mount(Kind::Setup, element, &host, &options)
}

/// `mountHomePanel(element, host, options): Promise<Panel>`.
#[wasm_bindgen(js_name = mountHomePanel, unchecked_return_type = "Promise<Panel>")]
pub fn mount_home_panel(
    element: Element,
    #[wasm_bindgen(unchecked_param_type = "MsSyncHost")] host: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PanelOptions")] options: JsValue,
) -> JsResult<Promise> {
    mount(Kind::Home, element, &host, &options)
}

fn mount(kind: Kind, root: Element, host: &JsValue, options: &JsValue) -> JsResult<Promise> {
    let member = |name: &str| Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let user = member("userId")
        .as_string()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid_argument("options.userId (the signed-in user's id) is required"))?;
    let allow = member("allowSyncNow");
    let app_options = AppOptions::from_js(options)?;
    // "Sync now" needs the services; a page without config gets a read-only Home.
    let allow_sync_now = app_options.config.is_some() && allow.as_bool() != Some(false);
    let app = app_options.app(host)?;
    let number = NEXT_PANEL.with(|n| n.replace(n.get() + 1));
    let panel = Rc::new(RefCell::new(Panel {
        kind,
        id: format!("mssync-{number}"),
        root: root.clone(),
        app,
        user,
        allow_sync_now,
        setup: SetupData {
            setup: None,
            options: None,
            home: None,
        },
        home: None,
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
    let job = || {
        control
            .get_attribute("data-job")
            .and_then(|j| JobKind::parse(&j).ok())
    };
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
    let (app, user) = {
        let mut p = panel.borrow_mut();
        p.error = None;
        (p.app.clone(), p.user.clone())
    };
    let outcome = run(panel, &app, &user, action).await;
    panel.borrow_mut().error = outcome.err();
    reload(panel, false).await;
    render(panel);
    announce_change(panel);
}

async fn run(panel: &Shared, app: &App, user: &str, action: Action) -> Result<(), PublicError> {
    match action {
        Action::Company(company) => app.choose_company(user, &company).await.map(drop),
        Action::Location(location) => app.choose_location(user, &location).await.map(drop),
        Action::Zone(zone) => {
            let change = SetupChange {
                time_zone: Some(zone),
                ..SetupChange::default()
            };
            app.change_setup(user, change).await.map(drop)
        }
        Action::Policy(policy) => {
            let policy = ConflictPolicy::parse(&policy)?;
            let change = SetupChange {
                policy: Some(policy),
                ..SetupChange::default()
            };
            app.change_setup(user, change).await.map(drop)
        }
        Action::ToggleJob(job) => {
            let enabled = panel
                .borrow()
                .setup
                .setup
                .as_ref()
                .and_then(|s| s.jobs.iter().find(|j| j.job == job))
                .is_some_and(|j| j.enabled);
            app.set_job_enabled(user, job, !enabled).await.map(drop)
        }
        Action::FullRefresh(job) => app.request_full_refresh(user, job).await.map(drop),
        Action::SyncNow(job) => app.run_job(user, job, false).await.result.map(drop),
    }
}

/// Re-reads what the panel shows. `with_options` also re-reads Setup's choices from ERP.net.
async fn reload(panel: &Shared, with_options: bool) {
    let (kind, app, user) = {
        let p = panel.borrow();
        (p.kind, p.app.clone(), p.user.clone())
    };
    let mut first_error = None;
    match kind {
        Kind::Setup => {
            let setup = keep(&mut first_error, app.setup(&user).await);
            let options = if with_options || panel.borrow().setup.options.is_none() {
                keep(&mut first_error, app.setup_options(&user).await)
            } else {
                panel.borrow().setup.options.clone()
            };
            let home = keep(&mut first_error, app.home(&user).await);
            let mut p = panel.borrow_mut();
            p.setup = SetupData {
                setup,
                options,
                home,
            };
        }
        Kind::Home => {
            let home = keep(&mut first_error, app.home(&user).await);
            panel.borrow_mut().home = home;
        }
    }
    let mut p = panel.borrow_mut();
    // The action's own error says most; a failed read shows when there was none.
    if p.error.is_none() {
        p.error = first_error;
    }
}

/// The value of a read, remembering the first error.
fn keep<T>(first_error: &mut Option<PublicError>, result: Result<T, PublicError>) -> Option<T> {
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
    let _ = Reflect::set(&detail, &"userId".into(), &p.user.as_str().into());
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(CHANGE_EVENT, &init) {
        let _ = document.dispatch_event(&event);
    }
}
