//! The seed: proposal No. 228 of the 3rd session of the 7th Xuchang CPPCC, read out of the real
//! reply document in `src/seed/proposal_228_reply.txt` (a copy of `shared/seed/`). Used by
//! `proposalctl demo`, the rendering golden test and the lifecycle tests.

use crate::domain::{ProposerKind, Registration, Reply, ResultCode};

/// The issued reply document, exactly as printed.
pub const DOCUMENT: &str = include_str!("seed/proposal_228_reply.txt");

/// Every field of the seed, as the lifecycle records it.
pub struct Seed {
    pub committee: String,
    pub session: String,
    pub number: u32,
    pub title: String,
    pub proposers: Vec<String>,
    pub handling_unit: String,
    pub body: String,
    pub result_code: ResultCode,
    pub contact_unit: String,
    pub contact_phone: String,
    pub signer: String,
    pub document_number: String,
    pub issue_date: String,
    pub issuing_office: String,
    pub recipients: Vec<String>,
}

fn line_after<'a>(lines: &[&'a str], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("the seed has no line starting {prefix:?}"))
}

/// Reads the seed document. Values are taken from the document itself (compiled in, so a
/// parse failure is a bug of this build, caught by the unit test below).
pub fn proposal_228() -> Seed {
    let lines: Vec<&str> = DOCUMENT.lines().map(str::trim_end).collect();
    let document_number = lines
        .iter()
        .find(|l| l.starts_with("许环〔"))
        .unwrap()
        .to_string();
    let signer = line_after(&lines, "签发人：").to_string();
    let result = line_after(&lines, "办理结果：");
    let salutation = lines.iter().position(|l| l.ends_with("委员：")).unwrap();
    let proposer = lines[salutation].trim_end_matches("委员：").to_string();
    let date_line = lines.iter().position(|l| *l == "2019年9月29日").unwrap();
    let body = lines[salutation + 1..date_line]
        .join("\n")
        .trim()
        .to_string();
    let title = body
        .split_once('“')
        .and_then(|(_, rest)| rest.split_once('”'))
        .map(|(title, _)| title.to_string())
        .unwrap();
    let contact = line_after(&lines, "（联系单位：");
    let (contact_unit, phone) = contact.split_once(" 电话：").unwrap();
    let recipients = line_after(&lines, "抄送：")
        .trim_end_matches('。')
        .split('、')
        .map(str::to_string)
        .collect();
    let issuing_office = lines[lines.iter().position(|l| l.starts_with("抄送：")).unwrap() + 1..]
        .iter()
        .find(|l| !l.is_empty())
        .unwrap()
        .to_string();
    let header = lines.iter().find(|l| l.ends_with("文件")).unwrap();

    Seed {
        committee: "许昌市政协".into(),
        session: "七届三次会议".into(),
        number: 228,
        title,
        proposers: vec![proposer],
        handling_unit: header.trim_end_matches("文件").to_string(),
        body,
        result_code: match result {
            "A" => ResultCode::A,
            "B" => ResultCode::B,
            "C" => ResultCode::C,
            "D" => ResultCode::D,
            other => panic!("unknown result code {other}"),
        },
        contact_unit: contact_unit.to_string(),
        contact_phone: phone.trim_end_matches('）').to_string(),
        signer,
        document_number,
        issue_date: "2019-09-29".into(),
        issuing_office,
        recipients,
    }
}

/// The proposal's own text. The seed is the reply, so the content is the proposal as the reply
/// summarises it.
pub const CONTENT: &str =
    "建议加强我市环境保护工作：强化大气、水、土壤污染防治，完善长效机制，加强社会共治。";

impl Seed {
    /// The registration of No. 228, with [`CONTENT`] for its content.
    pub fn registration(&self) -> Registration {
        Registration {
            committee: self.committee.clone(),
            session: self.session.clone(),
            number: self.number,
            title: self.title.clone(),
            proposers: self.proposers.clone(),
            content: CONTENT.into(),
            proposer_kind: ProposerKind::Member,
        }
    }

    /// The reply as the unit drafted it.
    pub fn reply(&self) -> Reply {
        Reply {
            body: self.body.clone(),
            result_code: self.result_code,
            contact_unit: self.contact_unit.clone(),
            contact_phone: self.contact_phone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Values are spot-checked against what DOMAIN.md says they are, so a damaged fixture
    /// fails loudly.
    #[test]
    fn the_seed_reads_as_domain_md_describes_it() {
        let seed = super::proposal_228();
        assert_eq!(seed.title, "关于加强我市环境保护的提案");
        assert_eq!(seed.proposers, ["苏会兴"]);
        assert_eq!(seed.handling_unit, "许昌市生态环境局");
        assert_eq!(seed.signer, "李光亚");
        assert_eq!(seed.document_number, "许环〔2019〕13号");
        assert_eq!(seed.contact_unit, "许昌市生态环境局综合科");
        assert_eq!(seed.contact_phone, "6069516");
        assert_eq!(seed.issuing_office, "许昌市生态环境局办公室");
        assert_eq!(seed.recipients, ["市政协提案委", "市政府督查室"]);
        assert!(
            seed.body
                .starts_with("您提出的“关于加强我市环境保护的提案”收悉")
        );
        assert!(seed.body.ends_with("生态效益的共赢。"));
        assert!(
            seed.body.lines().count() > 20,
            "the body keeps its paragraphs"
        );
    }
}
