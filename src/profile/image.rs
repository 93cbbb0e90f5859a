//! The `[image]` section of a profile: disk layout, boot mode and output format, as the image stage
//! consumes it once the cascade is flattened.

use serde::Deserialize;
use std::fmt;

/// The flattened, validated image description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConf {
    pub format: ImageFormat,
    pub boot: BootMode,
    /// Kernel command line; `root=` is added by the image stage from the root partition.
    pub cmdline: String,
    pub partitions: Vec<Partition>,
    /// Kernel inside the staging root, relative to it.
    pub kernel: String,
    /// Optional initramfs inside the staging root, relative to it.
    pub initramfs: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub label: String,
    pub kind: PartitionKind,
    pub fs: Filesystem,
    pub size: Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageFormat {
    Raw,
    Qcow2,
    #[serde(rename = "raw.xz")]
    RawXz,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::RawXz => "raw.xz",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootMode {
    Uefi,
    Bios,
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionKind {
    Esp,
    Root,
    Linux,
    Swap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filesystem {
    Vfat,
    Ext4,
    Swap,
    None,
}

/// A partition size: `auto` (content plus headroom, rounded to MiB) or a byte count written as
/// `64MiB`, `2GiB`, `512KiB`, `1G`, `100M` or a bare number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Auto,
    Bytes(u64),
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t == "auto" {
            return Ok(Size::Auto);
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| {
            format!("invalid size `{s}`: expected `auto` or a number with a unit such as `64MiB`")
        })?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "K" | "KiB" => 1 << 10,
            "M" | "MiB" => 1 << 20,
            "G" | "GiB" => 1 << 30,
            "T" | "TiB" => 1 << 40,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            other => {
                return Err(format!("invalid size unit `{other}` in `{s}`: use B, KiB, MiB, GiB or TiB"));
            }
        };
        let bytes = n.checked_mul(mult).ok_or_else(|| format!("size `{s}` is too large"))?;
        if bytes == 0 {
            return Err(format!("size `{s}` is zero"));
        }
        Ok(Size::Bytes(bytes))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Auto => f.write_str("auto"),
            Size::Bytes(b) if b % (1 << 20) == 0 => write!(f, "{}MiB", b >> 20),
            Size::Bytes(b) => write!(f, "{b}B"),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Int(0) => Err(serde::de::Error::custom("size is zero")),
            Raw::Int(n) => Ok(Size::Bytes(n)),
        }
    }
}

impl Default for ImageConf {
    fn default() -> Self {
        ImageConf {
            format: ImageFormat::Raw,
            boot: BootMode::Uefi,
            cmdline: "console=ttyS0".into(),
            partitions: vec![
                Partition {
                    label: "esp".into(),
                    kind: PartitionKind::Esp,
                    fs: Filesystem::Vfat,
                    size: Size::Auto,
                },
                Partition {
                    label: "root".into(),
                    kind: PartitionKind::Root,
                    fs: Filesystem::Ext4,
                    size: Size::Auto,
                },
            ],
            kernel: "boot/vmlinuz".into(),
            initramfs: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        for (text, want) in [
            ("auto", Size::Auto),
            ("64MiB", Size::Bytes(64 << 20)),
            ("64M", Size::Bytes(64 << 20)),
            ("2GiB", Size::Bytes(2 << 30)),
            ("512KiB", Size::Bytes(512 << 10)),
            ("1000", Size::Bytes(1000)),
            ("1MB", Size::Bytes(1_000_000)),
        ] {
            assert_eq!(text.parse::<Size>(), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        assert!("64XB".parse::<Size>().unwrap_err().contains("unit `XB`"));
        assert!("big".parse::<Size>().unwrap_err().contains("expected `auto`"));
        assert!("0MiB".parse::<Size>().unwrap_err().contains("zero"));
        assert!("99999999999TiB".parse::<Size>().unwrap_err().contains("too large"));
    }
}
