//! What every concept of the platform speaks on the wire: China Standard Time
//! ([`time`]), the platform's error codes ([`errcode`]) and its request field rules
//! ([`fields`]).

pub mod errcode;
pub mod fields;
pub mod time;
