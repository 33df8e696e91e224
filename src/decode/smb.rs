//! SMB recognition: a NetBIOS session message (type 0, 3-byte length) carrying an SMB1
//! (`\xffSMB`), SMB2/3 (`\xfeSMB`) or encrypted SMB3 transform (`\xfdSMB`) header; direct TCP
//! (port 445) and NetBIOS (139) use the same framing.

/// Cheap content check on the first bytes of a direction.
pub fn looks_like_smb(prefix: &[u8]) -> bool {
    match (prefix.first(), prefix.get(4..8)) {
        (Some(0), Some(magic)) => matches!(magic, [0xfd..=0xff, b'S', b'M', b'B']),
        _ => false,
    }
}

/// SMB2 command of the first message, when the prefix holds an SMB2 header.
pub fn smb2_command(prefix: &[u8]) -> Option<u16> {
    let hdr = prefix.get(4..)?;
    if !hdr.starts_with(&[0xfe, b'S', b'M', b'B']) {
        return None;
    }
    let c = hdr.get(12..14)?;
    Some(u16::from_le_bytes([c[0], c[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_smb1_and_smb2() {
        let mut smb2 = vec![0, 0, 0, 64, 0xfe, b'S', b'M', b'B'];
        smb2.extend_from_slice(&[64, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert!(looks_like_smb(&smb2));
        assert_eq!(smb2_command(&smb2), Some(1));
        assert!(looks_like_smb(&[0, 0, 0, 10, 0xff, b'S', b'M', b'B']));
        assert!(!looks_like_smb(&[0, 0, 0, 10, 0xff, b'S', b'M']));
        assert!(!looks_like_smb(b"GET /smb HTTP/1.1"));
    }
}
