//! The oracle of the hostile-input tests: which values the documented limits allow
//! (`src/domain/limits.rs`, the proto's comments), written independently of the service's
//! validation code.

use std::collections::{BTreeSet, HashSet};

use proposal_service::domain::Limits;

/// The fields a request gets wrong, named as in the request (`reply.body`, `proposers[2]`).
#[derive(Default, Debug)]
pub struct Problems(pub BTreeSet<String>);

impl Problems {
    pub fn add(&mut self, field: &str) {
        self.0.insert(field.to_owned());
    }

    /// A required one-line field: not blank, at most `max` characters, no control character.
    pub fn line(&mut self, field: &str, value: &str, max: usize) {
        self.checked(field, value, max, &[]);
    }

    /// An optional one-line field: empty, or as [`Self::line`].
    pub fn optional_line(&mut self, field: &str, value: &str, max: usize) {
        if !value.is_empty() {
            self.line(field, value, max);
        }
    }

    /// A required text: like a line, but tabs and line breaks are allowed.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        self.checked(field, value, max, &['\n', '\r', '\t']);
    }

    fn checked(&mut self, field: &str, value: &str, max: usize, allowed: &[char]) {
        if value.chars().all(char::is_whitespace) {
            self.add(field);
            return;
        }
        let control = value
            .chars()
            .any(|c| c.is_control() && !allowed.contains(&c));
        if value.chars().count() > max || control {
            self.add(field);
        }
    }

    /// One to `max` distinct valid names.
    pub fn names(&mut self, field: &str, values: &[String], max: usize) {
        if values.is_empty() || values.len() > max {
            self.add(field);
            return;
        }
        let mut seen = HashSet::new();
        for (i, value) in values.iter().enumerate() {
            let item = format!("{field}[{i}]");
            self.line(&item, value, Limits::NAME_CHARS);
            if !seen.insert(value) {
                self.add(&item);
            }
        }
    }

    pub fn proposal_id(&mut self, text: &str) {
        if !uuid_ok(text) {
            self.add("proposal_id");
        }
    }

    pub fn envelope(&mut self, actor: &str, request_id: &str) {
        self.line("actor", actor, Limits::NAME_CHARS);
        self.optional_line("request_id", request_id, Limits::REQUEST_ID_CHARS);
    }
}

/// The canonical hyphenated UUID form, in either letter case.
pub fn uuid_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Exactly `YYYY-MM-DD`, a real day of a year from 1 to 9999.
pub fn date_ok(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| b[from..to].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0, 4) || !digits(5, 7) {
        return false;
    }
    if !digits(8, 10) {
        return false;
    }
    let number = |from: usize, to: usize| text[from..to].parse::<u32>().unwrap();
    let (year, month, day) = (number(0, 4), number(5, 7), number(8, 10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// Views: unset, BASIC or FULL.
pub fn view_ok(view: i32) -> bool {
    (0..=2).contains(&view)
}
