//! A raw file's numbers by their key-registry field ([`crate::model::keys`]):
//! what studies, serve and optimized.toml read without naming each key.

use super::*;
use crate::model::Param;

impl RawUnit {
    /// A key that may be a distribution, as given (the response's keys
    /// inside `response`).
    pub fn param(&self, p: Param) -> &O<RawParam> {
        let response = self.response.as_ref();
        match p {
            Param::Revenue => &self.revenue,
            Param::Growth => &self.growth,
            Param::Volatility => &self.volatility,
            Param::Margin => &self.margin,
            Param::TargetMargin => &self.target_margin,
            Param::MarginSpeed => &self.margin_speed,
            Param::MaxUplift => response.map_or(&None, |r| &r.max_uplift),
            Param::HalfSaturation => response.map_or(&None, |r| &r.half_saturation),
        }
    }
}
