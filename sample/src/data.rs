//! The sample system's data: 30 Vietnamese administrative procedures and 200 synthetic
//! test citizens, embedded from `scenarios/dichvucong/data/` so the binary needs no files.

/// An administrative procedure (thủ tục hành chính).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Procedure {
    /// Code, e.g. `1.001193`.
    pub ma_thu_tuc: String,
    /// Name, e.g. `Đăng ký khai sinh`.
    pub ten_thu_tuc: String,
    /// Agency.
    pub co_quan_thuc_hien: String,
    /// Field.
    pub linh_vuc: String,
}

/// A synthetic test citizen.
#[derive(Debug, Clone)]
pub struct Citizen {
    /// 12-digit citizen id.
    pub so_cccd: String,
    /// Full name.
    pub ho_ten: String,
}

const PROCEDURES_CSV: &str = include_str!("../../scenarios/dichvucong/data/thu_tuc.csv");
const CITIZENS_CSV: &str = include_str!("../../scenarios/dichvucong/data/cong_dan_thu_nghiem.csv");

/// Every procedure.
pub fn procedures() -> Vec<Procedure> {
    let mut reader = csv::Reader::from_reader(PROCEDURES_CSV.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .map(|r| Procedure {
            ma_thu_tuc: r.get(0).unwrap_or_default().to_string(),
            ten_thu_tuc: r.get(1).unwrap_or_default().to_string(),
            co_quan_thuc_hien: r.get(2).unwrap_or_default().to_string(),
            linh_vuc: r.get(3).unwrap_or_default().to_string(),
        })
        .collect()
}

/// Every test citizen.
pub fn citizens() -> Vec<Citizen> {
    let mut reader = csv::Reader::from_reader(CITIZENS_CSV.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .map(|r| Citizen {
            so_cccd: r.get(1).unwrap_or_default().to_string(),
            ho_ten: r.get(2).unwrap_or_default().to_string(),
        })
        .collect()
}
