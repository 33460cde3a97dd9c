//! Explicit limits on every text field, and the checks that enforce them. Limits are counted in
//! characters (not bytes), because the service's text is Chinese.

/// One problem with one request field, named as in the protobuf request (`reply.body`,
/// `proposers[2]`), so that callers can point at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// The field limits, in one place so that documentation, validation and tests agree.
pub struct Limits;

impl Limits {
    /// Names of bodies, units and people, and other one-line fields.
    pub const NAME_CHARS: usize = 200;
    pub const TITLE_CHARS: usize = 500;
    /// The proposal's content and the reply body (the seed's body is about 3,600 characters).
    pub const TEXT_CHARS: usize = 100_000;
    /// Reasons for a return or a rejected draft.
    pub const REASON_CHARS: usize = 5_000;
    pub const PHONE_CHARS: usize = 50;
    pub const DOCUMENT_NUMBER_CHARS: usize = 100;
    pub const REQUEST_ID_CHARS: usize = 128;
    pub const MAX_PROPOSERS: usize = 100;
    pub const MAX_RECIPIENTS: usize = 100;
    /// Co-handling units of one assignment.
    pub const MAX_CO_UNITS: usize = 20;
    /// Split units of one assignment, besides its `handling_unit`.
    pub const MAX_SPLIT_UNITS: usize = 20;
}

/// Collects violations while a command is checked, so a caller learns every problem at once.
#[derive(Default)]
pub(crate) struct Violations(Vec<FieldViolation>);

impl Violations {
    pub(crate) fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A required one-line field: not blank, no control characters, at most `max` characters.
    pub(crate) fn line(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "is required");
        } else {
            self.check(field, value, max, false);
        }
    }

    /// An optional one-line field: may be empty; otherwise as [`Self::line`].
    pub(crate) fn optional_line(&mut self, field: &str, value: &str, max: usize) {
        if !value.is_empty() {
            self.line(field, value, max);
        }
    }

    /// A required text that may span lines (tabs and line breaks allowed).
    pub(crate) fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "is required");
        } else {
            self.check(field, value, max, true);
        }
    }

    /// An optional text: may be empty; otherwise as [`Self::text`].
    pub(crate) fn optional_text(&mut self, field: &str, value: &str, max: usize) {
        if !value.is_empty() {
            self.text(field, value, max);
        }
    }

    /// A required list of one-line names: between 1 and `max_items`, each valid, none repeated.
    pub(crate) fn names(&mut self, field: &str, values: &[String], max_items: usize) {
        if values.is_empty() {
            self.add(field, "needs at least one entry");
            return;
        }
        if values.len() > max_items {
            self.add(
                field,
                format!(
                    "has {} entries; at most {max_items} are allowed",
                    values.len()
                ),
            );
            return;
        }
        for (index, value) in values.iter().enumerate() {
            let item = format!("{field}[{index}]");
            self.line(&item, value, Limits::NAME_CHARS);
            // Name the earlier entry rather than quote the value: a quoted long value would
            // travel back in the status trailers and could exceed HTTP/2 header limits.
            if let Some(first) = values[..index].iter().position(|v| v == value) {
                self.add(item, format!("repeats {field}[{first}]"));
            }
        }
    }

    /// An optional list of names: may be empty; otherwise as [`Self::names`].
    pub(crate) fn optional_names(&mut self, field: &str, values: &[String], max_items: usize) {
        if !values.is_empty() {
            self.names(field, values, max_items);
        }
    }

    fn check(&mut self, field: &str, value: &str, max: usize, multiline: bool) {
        let chars = value.chars().count();
        if chars > max {
            self.add(
                field,
                format!("is {chars} characters long; at most {max} are allowed"),
            );
        }
        let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
        if value.chars().any(|c| c.is_control() && !allowed(c)) {
            self.add(field, "contains control characters");
        }
    }

    pub(crate) fn into_result(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}
