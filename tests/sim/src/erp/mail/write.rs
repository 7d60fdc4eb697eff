//! Writes to the simulated `Applications.Mail` sets, as strict as the model pages:
//! - a folder is created by a POST to its box's `Folders` collection (its `MailBox` is ReadOnly,
//!   so a POST to the folders' set cannot name the box and is refused); renamed and moved by a
//!   PATCH (`SystemPurpose` and `MailBox` are ReadOnly and refused);
//! - a message is created by a POST (plain `create` or `findOrCreate` by ExternalId and
//!   ExternalSystem), its `Attachments` inline becoming `MessageAttachments` rows; updated by a
//!   PATCH (with `ObjectVersion` checked when sent);
//! - an attachment is created (POST with `MailMessage`) or changed (PATCH) on its own, which
//!   changes its message's aggregate;
//! - unknown properties, ReadOnly ones, strings over their page's length, a missing Required
//!   property (`FromEmailAddress`, `FolderName`, `MailBoxFolder`, `MailMessage`) and references
//!   to objects that do not exist are refused, before anything is written.
//!
//! Every write moves the aggregate root's `ObjectVersion` and, for messages,
//! `AggregateLastUpdateTimeUtc`.

// A refusal is a whole response; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use serde_json::{Map, Value, json};
use wiremock::Request;

use mssync_core::wire::erp::mail::{
    BOX_FOLDERS, BOXES, MESSAGE_ATTACHMENTS, MESSAGES, attachment, box_, box_folder, max_len,
    message,
};
use mssync_core::wire::erp::{self as wire, Kind};

use super::super::handler::{
    Reply, body_object, check_bind, erp_error, find_criteria, project, refused,
};
use super::super::odata::Refusal;
use super::super::{State, obj, parse_odata_id, reference};

/// What a value of a property must look like.
enum Shape {
    /// A string of at most this many characters (`None`: no limit), or null when nullable.
    Text(Option<usize>, bool),
    Bool,
    /// An ISO 8601 date-time, or null.
    Time,
    /// `{"<language>": "<text>", ...}` of at most this many characters each.
    MultiLanguage(usize),
    /// Base64 bytes, or null.
    Binary,
}

fn shape(set: &str, name: &str) -> Option<Shape> {
    use Shape::*;
    let text = |max| Text(Some(max), true);
    Some(match (set, name) {
        (BOX_FOLDERS, box_folder::ACTIVE) => Bool,
        (BOX_FOLDERS, box_folder::FOLDER_NAME) => MultiLanguage(max_len::FOLDER_NAME),
        (BOX_FOLDERS, box_folder::SERVER_FOLDER_ID) => text(max_len::SERVER_FOLDER_ID),
        (BOX_FOLDERS, box_folder::SYNC_STATE) => Text(None, true),
        (MESSAGES, message::BODY) => Text(None, true),
        (MESSAGES, message::CC_EMAIL_ADDRESS_LIST | message::TO_EMAIL_ADDRESS_LIST) => {
            text(max_len::EMAIL_ADDRESS_LIST)
        }
        (MESSAGES, message::FROM_EMAIL_ADDRESS) => Text(Some(max_len::FROM_EMAIL_ADDRESS), false),
        (MESSAGES, message::SERVER_MESSAGE_ID) => text(max_len::SERVER_MESSAGE_ID),
        (MESSAGES, message::SUBJECT) => text(max_len::SUBJECT),
        (MESSAGES, message::IS_READ | message::IS_ENCRYPTED) => Bool,
        (
            MESSAGES,
            message::CREATION_DATE_TIME | message::RECEIVED_DATE_TIME | message::SENT_DATE_TIME,
        ) => Time,
        (MESSAGES, message::EXTERNAL_ID | message::EXTERNAL_SYSTEM) => Text(None, true),
        (MESSAGE_ATTACHMENTS, attachment::NAME) => text(max_len::ATTACHMENT_NAME),
        (MESSAGE_ATTACHMENTS, attachment::CONTENT_DESCRIPTORS) => {
            text(max_len::CONTENT_DESCRIPTORS)
        }
        (MESSAGE_ATTACHMENTS, attachment::CONTENT_DOWNLOADED) => Bool,
        (MESSAGE_ATTACHMENTS, attachment::ATTACHMENT_CONTENT) => Binary,
        _ => return None,
    })
}

fn invalid(key: &str) -> Reply {
    erp_error(
        500,
        &format!("Invalid value for {key}."),
        "ArgumentException",
    )
}

fn too_long(key: &str, max: usize) -> Reply {
    erp_error(
        500,
        &format!("The value of {key} is longer than {max} characters."),
        "ArgumentException",
    )
}

fn required(key: &str) -> Reply {
    erp_error(
        500,
        &format!("The property '{key}' is required."),
        "ArgumentException",
    )
}

fn read_only(key: &str) -> Reply {
    erp_error(
        500,
        &format!("The property '{key}' is read-only."),
        "ODataException",
    )
}

fn check_value(key: &str, shape: Shape, value: &Value) -> Result<(), Reply> {
    match (shape, value) {
        (Shape::Text(_, true) | Shape::Time | Shape::Binary, Value::Null) => Ok(()),
        (Shape::Text(max, _), Value::String(s)) => match max {
            Some(max) if s.chars().count() > max => Err(too_long(key, max)),
            _ => Ok(()),
        },
        (Shape::Bool, Value::Bool(_)) => Ok(()),
        (Shape::Time, Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|_| ())
            .map_err(|_| invalid(key)),
        (Shape::Binary, Value::String(s)) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(|_| ())
                .map_err(|_| invalid(key))
        }
        (Shape::MultiLanguage(max), Value::Object(languages)) => {
            if languages.is_empty() || !languages.values().all(Value::is_string) {
                return Err(invalid(key));
            }
            match languages
                .values()
                .any(|v| v.as_str().is_some_and(|s| s.chars().count() > max))
            {
                true => Err(too_long(key, max)),
                false => Ok(()),
            }
        }
        _ => Err(invalid(key)),
    }
}

/// Checks a body's properties against the set's page: documented, writable, each value of its
/// shape, each reference to an object that exists. Child collections are checked by the caller
/// (`collections` says which may appear).
fn check_body(
    state: &State,
    set: &str,
    body: &Map<String, Value>,
    collections: &[&str],
) -> Result<(), Reply> {
    let table = wire::entity_set(set).expect("mail sets are in the wire table");
    for (key, value) in body.iter().filter(|(k, _)| !k.starts_with('@')) {
        let property = table
            .property(key)
            .ok_or_else(|| refused(Refusal::unknown_property(set, key)))?;
        match property.kind {
            Kind::Collection(_) if collections.contains(&key.as_str()) => {}
            Kind::Collection(_) => {
                return Err(erp_error(
                    500,
                    &format!("The child collection '{key}' cannot be written here."),
                    "NotSupportedException",
                ));
            }
            _ if !property.writable => return Err(read_only(key)),
            Kind::Reference(target) => check_bind(state, key, target, value)?,
            Kind::Value => {
                let shape = shape(set, key).ok_or_else(|| read_only(key))?;
                check_value(key, shape, value)?;
            }
        }
    }
    Ok(())
}

fn is_present(body: &Map<String, Value>, key: &str) -> bool {
    match body.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

/// The id a bind names, if it is one.
fn bound_id(value: Option<&Value>) -> Option<String> {
    value?
        .get(wire::ODATA_ID)?
        .as_str()
        .and_then(parse_odata_id)
        .map(|(_, id)| id)
}

/// A change to a message's aggregate (the message or one of its attachments), as ERP.net
/// records it: the root's version and `AggregateLastUpdateTimeUtc` move.
pub(crate) fn touch_message(state: &mut State, id: &str) {
    let stamp = state.stamp();
    if let Some(object) = state.find_mut(MESSAGES, id) {
        let version = object
            .get(message::OBJECT_VERSION)
            .and_then(Value::as_i64)
            .unwrap_or(0);
        object.insert(message::OBJECT_VERSION.into(), json!(version + 1));
        object.insert(message::AGGREGATE_LAST_UPDATE_TIME_UTC.into(), json!(stamp));
    }
}

fn bump_version(object: &mut Map<String, Value>) {
    let version = object
        .get("ObjectVersion")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    object.insert("ObjectVersion".into(), json!(version + 1));
}

/// `ObjectVersion` in an update body must be the current one (D optimistic-locking.md).
fn check_version(current: &Map<String, Value>, body: &mut Map<String, Value>) -> Result<(), Reply> {
    match body.remove("ObjectVersion") {
        Some(expected)
            if expected.as_i64() != current.get("ObjectVersion").and_then(Value::as_i64) =>
        {
            Err(erp_error(
                500,
                "The object was changed by another user.",
                "ObjectVersionConflictException",
            ))
        }
        _ => Ok(()),
    }
}

fn created(state: &State, object: &Map<String, Value>) -> Reply {
    Reply::new(201).set_body_json(project(state, object, &[], &[]))
}

pub(crate) fn serves(set: &str) -> bool {
    [BOXES, BOX_FOLDERS, MESSAGES, MESSAGE_ATTACHMENTS].contains(&set)
}

/// The mail sets' writes (reads are the handler's generic ones).
pub(crate) fn dispatch(
    state: &mut State,
    request: &Request,
    set: &str,
    method: &str,
    id: Option<&str>,
    action: Option<&str>,
) -> Reply {
    let result = match (method, set, id, action) {
        ("POST", BOXES, Some(id), Some(box_::FOLDERS)) => create_folder(state, request, id),
        ("POST", BOX_FOLDERS, None, None) => {
            // Without the box (ReadOnly, so not in a body) a folder cannot be made here.
            body_object(request).and_then(|body| {
                check_body(state, BOX_FOLDERS, &body, &[])?;
                Err(required(box_folder::MAIL_BOX))
            })
        }
        ("PATCH", BOX_FOLDERS, Some(id), None) => patch_folder(state, request, id),
        ("POST", MESSAGES, None, None) => create_message(state, request),
        ("PATCH", MESSAGES, Some(id), None) => patch_message(state, request, id),
        ("POST", MESSAGE_ATTACHMENTS, None, None) => create_attachment(state, request),
        ("PATCH", MESSAGE_ATTACHMENTS, Some(id), None) => patch_attachment(state, request, id),
        _ => Err(erp_error(
            500,
            "The operation is not supported.",
            "NotSupportedException",
        )),
    };
    result.unwrap_or_else(|reply| reply)
}

/// The box a folder belongs to.
fn box_of_folder(state: &State, folder: &str) -> Option<String> {
    bound_id(state.find(BOX_FOLDERS, folder)?.get(box_folder::MAIL_BOX))
}

/// A parent must be a folder of the same box, and not the folder itself or one under it.
fn check_parent(
    state: &State,
    mail_box: &str,
    folder: Option<&str>,
    parent: Option<&Value>,
) -> Result<(), Reply> {
    let Some(mut at) = bound_id(parent) else {
        return Ok(());
    };
    if box_of_folder(state, &at).as_deref() != Some(mail_box) {
        return Err(erp_error(
            500,
            "The parent folder belongs to another mailbox.",
            "ArgumentException",
        ));
    }
    for _ in 0..1000 {
        if Some(at.as_str()) == folder {
            return Err(erp_error(
                500,
                "A folder cannot be placed under itself.",
                "ArgumentException",
            ));
        }
        match state
            .find(BOX_FOLDERS, &at)
            .and_then(|f| bound_id(f.get(box_folder::PARENT_FOLDER)))
        {
            Some(next) => at = next,
            None => break,
        }
    }
    Ok(())
}

fn create_folder(state: &mut State, request: &Request, mail_box: &str) -> Result<Reply, Reply> {
    if state.find(BOXES, mail_box).is_none() {
        return Err(Reply::new(404));
    }
    let mut body = body_object(request)?;
    body.retain(|k, _| !k.starts_with('@'));
    check_body(state, BOX_FOLDERS, &body, &[])?;
    if !is_present(&body, box_folder::FOLDER_NAME) {
        return Err(required(box_folder::FOLDER_NAME));
    }
    check_parent(state, mail_box, None, body.get(box_folder::PARENT_FOLDER))?;
    let id = state.new_id();
    let mut object = obj(json!({
        box_folder::ID: id,
        box_folder::OBJECT_VERSION: 1,
        box_folder::ACTIVE: true,
        box_folder::SERVER_FOLDER_ID: null,
        box_folder::SYNC_STATE: null,
        box_folder::SYSTEM_PURPOSE: null,
        box_folder::PARENT_FOLDER: null,
    }));
    object.extend(body);
    object.insert(box_folder::MAIL_BOX.into(), reference(BOXES, mail_box));
    let reply = created(state, &object);
    state.set_mut(BOX_FOLDERS).push(object);
    Ok(reply)
}

fn patch_folder(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let current = state.find(BOX_FOLDERS, id).ok_or_else(|| Reply::new(404))?;
    check_version(current, &mut body)?;
    check_body(state, BOX_FOLDERS, &body, &[])?;
    if body.contains_key(box_folder::FOLDER_NAME) && !is_present(&body, box_folder::FOLDER_NAME) {
        return Err(required(box_folder::FOLDER_NAME));
    }
    let mail_box = box_of_folder(state, id).unwrap_or_default();
    check_parent(
        state,
        &mail_box,
        Some(id),
        body.get(box_folder::PARENT_FOLDER),
    )?;
    let object = state.find_mut(BOX_FOLDERS, id).expect("found above");
    object.extend(body);
    bump_version(object);
    Ok(Reply::new(204))
}

/// The message `@erpnet.findBy` names: by ExternalId (and ExternalSystem when given), else Id.
fn find_message(state: &State, criteria: &Map<String, Value>) -> Result<Option<String>, Reply> {
    let field =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    let messages = state.sets.get(MESSAGES).map(Vec::as_slice).unwrap_or(&[]);
    let found = if let Some(external_id) = field(criteria, message::EXTERNAL_ID) {
        let system = field(criteria, message::EXTERNAL_SYSTEM);
        messages.iter().find(|o| {
            field(o, message::EXTERNAL_ID).as_deref() == Some(external_id.as_str())
                && (system.is_none() || field(o, message::EXTERNAL_SYSTEM) == system)
        })
    } else if let Some(id) = field(criteria, message::ID) {
        let id = id.to_ascii_lowercase();
        messages
            .iter()
            .find(|o| field(o, message::ID).as_deref() == Some(id.as_str()))
    } else if criteria.is_empty() {
        None
    } else {
        return Err(erp_error(
            500,
            "The simulator finds messages by ExternalId or Id only.",
            "NotSupportedException",
        ));
    };
    Ok(found.and_then(|o| field(o, message::ID)))
}

/// The inline attachments of a new message, checked.
fn inline_attachments(
    state: &State,
    value: Option<Value>,
) -> Result<Vec<Map<String, Value>>, Reply> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(message::ATTACHMENTS)),
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Object(mut item) = item else {
                return Err(invalid(message::ATTACHMENTS));
            };
            item.retain(|k, _| !k.starts_with('@'));
            // The owner is the message being made.
            if item.contains_key(attachment::MAIL_MESSAGE) {
                return Err(read_only(attachment::MAIL_MESSAGE));
            }
            check_body(state, MESSAGE_ATTACHMENTS, &item, &[])?;
            Ok(item)
        })
        .collect()
}

fn new_attachment(
    state: &mut State,
    message_id: &str,
    item: Map<String, Value>,
) -> Map<String, Value> {
    let mut row = obj(json!({
        attachment::ID: state.new_id(),
        attachment::OBJECT_VERSION: 1,
        attachment::ATTACHMENT_CONTENT: null,
        attachment::CONTENT_DESCRIPTORS: null,
        attachment::CONTENT_DOWNLOADED: false,
        attachment::NAME: null,
    }));
    row.extend(item);
    row.insert(
        attachment::MAIL_MESSAGE.into(),
        reference(MESSAGES, message_id),
    );
    row
}

fn create_message(state: &mut State, request: &Request) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let action = body
        .get(wire::ERPNET_ACTION)
        .and_then(Value::as_str)
        .unwrap_or("create")
        .to_owned();
    let criteria = find_criteria(body.get(wire::ERPNET_FIND_BY), &body)?;
    body.retain(|k, _| !k.starts_with('@'));
    check_body(state, MESSAGES, &body, &[message::ATTACHMENTS])?;
    let attachments = inline_attachments(state, body.remove(message::ATTACHMENTS))?;
    match action.as_str() {
        "create" => {}
        "findOrCreate" => {
            if let Some(id) = find_message(state, &criteria)? {
                let object = state.find(MESSAGES, &id).expect("just found");
                return Ok(Reply::new(200).set_body_json(project(state, object, &[], &[])));
            }
        }
        other => {
            return Err(erp_error(
                500,
                &format!("Unsupported @erpnet.action '{other}'."),
                "NotSupportedException",
            ));
        }
    }
    for key in [message::FROM_EMAIL_ADDRESS, message::MAIL_BOX_FOLDER] {
        if !is_present(&body, key) {
            return Err(required(key));
        }
    }
    let id = state.new_id();
    let stamp = state.stamp();
    let mut object = obj(json!({
        message::ID: id,
        message::OBJECT_VERSION: 1,
        message::AGGREGATE_LAST_UPDATE_TIME_UTC: stamp,
        message::BODY: null,
        message::CC_EMAIL_ADDRESS_LIST: null,
        message::CREATION_DATE_TIME: stamp,
        message::IS_ENCRYPTED: false,
        message::IS_READ: false,
        message::RECEIVED_DATE_TIME: null,
        message::SENT_DATE_TIME: null,
        message::SERVER_MESSAGE_ID: null,
        message::SUBJECT: null,
        message::TO_EMAIL_ADDRESS_LIST: null,
        message::EXTERNAL_ID: null,
        message::EXTERNAL_SYSTEM: null,
        message::RELATED_TO_PARTY: null,
    }));
    object.extend(body);
    let rows: Vec<_> = attachments
        .into_iter()
        .map(|item| new_attachment(state, &id, item))
        .collect();
    let reply = created(state, &object);
    state.set_mut(MESSAGES).push(object);
    state.set_mut(MESSAGE_ATTACHMENTS).extend(rows);
    Ok(reply)
}

fn patch_message(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let current = state.find(MESSAGES, id).ok_or_else(|| Reply::new(404))?;
    check_version(current, &mut body)?;
    check_body(state, MESSAGES, &body, &[])?;
    for key in [message::FROM_EMAIL_ADDRESS, message::MAIL_BOX_FOLDER] {
        if body.contains_key(key) && !is_present(&body, key) {
            return Err(required(key));
        }
    }
    state
        .find_mut(MESSAGES, id)
        .expect("found above")
        .extend(body);
    touch_message(state, id);
    Ok(Reply::new(204))
}

fn create_attachment(state: &mut State, request: &Request) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    body.retain(|k, _| !k.starts_with('@'));
    check_body(state, MESSAGE_ATTACHMENTS, &body, &[])?;
    let message_id = bound_id(body.get(attachment::MAIL_MESSAGE))
        .ok_or_else(|| required(attachment::MAIL_MESSAGE))?;
    body.remove(attachment::MAIL_MESSAGE);
    let row = new_attachment(state, &message_id, body);
    let reply = created(state, &row);
    state.set_mut(MESSAGE_ATTACHMENTS).push(row);
    touch_message(state, &message_id);
    Ok(reply)
}

fn patch_attachment(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let current = state
        .find(MESSAGE_ATTACHMENTS, id)
        .ok_or_else(|| Reply::new(404))?;
    let message_id = bound_id(current.get(attachment::MAIL_MESSAGE)).unwrap_or_default();
    if let Some(message) = state.find(MESSAGES, &message_id) {
        check_version(message, &mut body)?;
    }
    check_body(state, MESSAGE_ATTACHMENTS, &body, &[])?;
    // The owner does not change.
    if body.contains_key(attachment::MAIL_MESSAGE) {
        return Err(read_only(attachment::MAIL_MESSAGE));
    }
    let row = state
        .find_mut(MESSAGE_ATTACHMENTS, id)
        .expect("found above");
    row.extend(body);
    bump_version(row);
    touch_message(state, &message_id);
    Ok(Reply::new(204))
}
