//! `request!`: one declaration per cmdlet request (the sibling of the models' `model!`).
//!
//! A declaration names the request type, its catalog entry, its shape and output, and then
//! one line per parameter:
//!
//! ```text
//! request! {
//!     /// `Get-Thing`: …
//!     #[derive(Default)]
//!     pub struct GetThing for GET_THING -> ListingShape<Thing> {
//!         @required {
//!             /// The thing.
//!             identity / get_identity / identity: value(ThingIdentity) = "Identity",
//!         }
//!         /// `-Filter` (OPATH).
//!         filter / get_filter: opt(Filter) = "Filter",
//!         /// `-Force`.
//!         force / get_force: switch = "Force",
//!         select / get_select: select = _,
//!     }
//! }
//! ```
//!
//! Each line generates the private field, the chainable setter (documented by the line's
//! doc comment), the getter (`get_<setter>()`) and the wire encoding. `@required` lines are
//! set by a constructor (`Self::blank(...)` builds the request from them); they get a getter
//! and, when a third name is given, a plain accessor. A `_` wire name sends nothing (the
//! value is read by bespoke code, or is `$select`).
//!
//! The kinds: `opt(T)` (an optional value, getter `Option<&T>`), `copy(T)` (getter
//! `Option<T>`), `ctor_opt(T)` (an optional value set by the constructor only), `text`
//! (non-empty text, sent trimmed), `verbatim` (non-empty text, sent as given), `sort_by`
//! (one property name), `switch`, `list(T)` (sent when not empty), `addresses` (non-empty
//! texts, sent trimmed when any), `patch(T)` (a [`Patch`]), `patch_text(clear_fn)` (a text
//! [`Patch`] with a `clear_` setter), `result_size` (`Unlimited` unless set), `select`
//! (`$select`), `embedded(T)` (a parameter block with its own `encode`). Required lines
//! take `value(T)` (getter `&T`), `text` (getter `&str`) or `copy(T)` (getter `T`).
//!
//! Validation a line cannot say (parameter sets, identity guards, ranges, routing hints,
//! parameters implied by others) goes into an `impl Bespoke for …` next to the declaration,
//! announced by `, impl Bespoke` after the output type; `sends [..]` lists the extra parameters
//! that bespoke code may send (for the check against the module's declared parameters).
//!
//! [`Patch`]: crate::types::Patch

use crate::call::Cmdlet;
use crate::error::Result;
use crate::protocol::{Invocation, Parameters};

/// What a request declaration cannot say: checks before encoding, parameters implied by
/// others, and changes to the finished invocation (routing hints). Every hook defaults to
/// nothing.
pub(crate) trait Bespoke: Cmdlet {
    /// Checks across parameters, run before anything is encoded.
    fn check(&self) -> Result<()> {
        Ok(())
    }
    /// Parameters that follow from the declared ones (e.g. a switch implied by a value).
    fn encode_more(&self, _parameters: &mut Parameters) -> Result<()> {
        Ok(())
    }
    /// The finished invocation, e.g. with a routing hint.
    fn finish(&self, invocation: Invocation) -> Invocation {
        invocation
    }
}

macro_rules! request {
    (
        $(#[$doc:meta])*
        pub struct $name:ident for $entry:ident -> $shape:ident < $out:ty >
        $( , sends [ $($extra:literal),* $(,)? ] )?
        $( , impl $bespoke:ident )?
        {
            $( @required {
                $( $(#[$rdoc:meta])*
                   $rfield:ident / $rget:ident $( / $racc:ident )? :
                   $rkind:ident $( ( $($rarg:tt)* ) )? = $rwire:tt ),* $(,)?
            } )?
            $( $(#[$fdoc:meta])*
               $fvis:vis $field:ident / $get:ident :
               $kind:ident $( ( $($arg:tt)* ) )? = $wire:tt ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $($( $rfield: request!(@rty $rkind ($($($rarg)*)?)), )*)?
            $( $(#[$fdoc])* $fvis $field: request!(@ty $kind ($($($arg)*)?)), )*
        }

        #[allow(dead_code)]
        impl $name {
            /// The request with the required values and nothing else set.
            fn blank($($( $rfield: request!(@rty $rkind ($($($rarg)*)?)) ),*)?) -> Self {
                $name {
                    $($( $rfield, )*)?
                    $( $field: Default::default(), )*
                }
            }

            /// Encode every declared parameter that is set.
            fn encode_declared(&self, p: &mut Parameters) -> Result<()> {
                $($( request!(@rput self, p, $rkind, $rfield, $rwire); )*)?
                $( request!(@put self, p, $kind, $field, $wire); )*
                Ok(())
            }

            /// Every parameter this request may send (for the check against the module).
            #[allow(clippy::vec_init_then_push)]
            pub(crate) fn parameter_names() -> Vec<&'static str> {
                let mut names: Vec<&'static str> = Vec::new();
                $($( request!(@name names, value, (), $rwire); )*)?
                $( request!(@name names, $kind, ($($($arg)*)?), $wire); )*
                $($( names.push($extra); )*)?
                names
            }
        }

        impl $name {
            $( request!(@setter [$(#[$fdoc])*] $field, $kind, ($($($arg)*)?), $wire); )*
        }

        /// Read access to the parameters (`get_<setter>()`; see the
        /// [module](crate::cmdlets) documentation).
        impl $name {
            $($( request!(@rgetter $rfield, $rget, $rkind, ($($($rarg)*)?) $(, $racc)?); )*)?
            $( request!(@getter $field, $get, $kind, ($($($arg)*)?)); )*
        }

        request!(@bespoke $name $($bespoke)?);

        impl Cmdlet for $name {
            type Output = $out;
            type Shape = crate::call::$shape;
            const INFO: &'static CmdletInfo = &catalog::$entry;
            fn invocation(&self) -> Result<Invocation> {
                Bespoke::check(self)?;
                let mut p = Parameters::new();
                self.encode_declared(&mut p)?;
                Bespoke::encode_more(self, &mut p)?;
                let inv = Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p);
                $( let inv = request!(@after $kind, inv, &self.$field); )*
                Ok(Bespoke::finish(self, inv))
            }
        }
    };

    (@bespoke $name:ident) => { impl Bespoke for $name {} };
    (@bespoke $name:ident Bespoke) => {};

    // storage of required values
    (@rty value ($t:ty)) => { $t };
    (@rty copy ($t:ty)) => { $t };
    (@rty text ()) => { String };

    // storage of optional values
    (@ty opt ($t:ty)) => { Option<$t> };
    (@ty copy ($t:ty)) => { Option<$t> };
    (@ty ctor_opt ($t:ty)) => { Option<$t> };
    (@ty text ()) => { Option<String> };
    (@ty verbatim ()) => { Option<String> };
    (@ty sort_by ()) => { Option<String> };
    (@ty switch ()) => { bool };
    (@ty list ($t:ty)) => { Vec<$t> };
    (@ty addresses ()) => { Vec<String> };
    (@ty patch ($t:ty)) => { Patch<$t> };
    (@ty patch_text ($clear:ident)) => { Patch<String> };
    (@ty result_size ()) => { Option<u32> };
    (@ty select ()) => { Vec<String> };
    (@ty embedded ($t:ty)) => { $t };

    // setters
    (@setter [$(#[$d:meta])*] $f:ident, opt, ($t:ty), $w:tt) => {
        $(#[$d])*
        pub fn $f(mut self, value: $t) -> Self {
            self.$f = Some(value);
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, copy, ($t:ty), $w:tt) => {
        $(#[$d])*
        pub fn $f(mut self, value: $t) -> Self {
            self.$f = Some(value);
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, ctor_opt, ($t:ty), $w:tt) => {};
    (@setter [$(#[$d:meta])*] $f:ident, text, (), $w:tt) => { request!(@text_setter [$(#[$d])*] $f); };
    (@setter [$(#[$d:meta])*] $f:ident, verbatim, (), $w:tt) => { request!(@text_setter [$(#[$d])*] $f); };
    (@setter [$(#[$d:meta])*] $f:ident, sort_by, (), $w:tt) => { request!(@text_setter [$(#[$d])*] $f); };
    (@text_setter [$(#[$d:meta])*] $f:ident) => {
        $(#[$d])*
        pub fn $f(mut self, value: impl Into<String>) -> Self {
            self.$f = Some(value.into());
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, switch, (), $w:tt) => {
        $(#[$d])*
        pub fn $f(mut self) -> Self {
            self.$f = true;
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, list, ($t:ty), $w:tt) => {
        $(#[$d])*
        pub fn $f<I: IntoIterator<Item = $t>>(mut self, values: I) -> Self {
            self.$f = values.into_iter().collect();
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, addresses, (), $w:tt) => { request!(@strings_setter [$(#[$d])*] $f); };
    (@setter [$(#[$d:meta])*] $f:ident, select, (), $w:tt) => {
        request!(@strings_setter [
            /// Ask the service for these properties only (`$select`).
        ] $f);
    };
    (@strings_setter [$(#[$d:meta])*] $f:ident) => {
        $(#[$d])*
        pub fn $f<I, S>(mut self, values: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.$f = values.into_iter().map(Into::into).collect();
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, patch, ($t:ty), $w:tt) => {
        $(#[$d])*
        pub fn $f(mut self, change: impl Into<Patch<$t>>) -> Self {
            self.$f = change.into();
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, patch_text, ($clear:ident), $w:literal) => {
        $(#[$d])*
        pub fn $f(mut self, value: impl Into<String>) -> Self {
            self.$f = Patch::Set(value.into());
            self
        }
        #[doc = concat!("Clear `-", $w, "` (sent as `$null`).")]
        pub fn $clear(mut self) -> Self {
            self.$f = Patch::Clear;
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, result_size, (), $w:tt) => {
        $(#[$d])*
        pub fn $f(mut self, n: u32) -> Self {
            self.$f = Some(n);
            self
        }
    };
    (@setter [$(#[$d:meta])*] $f:ident, embedded, ($t:ty), $w:tt) => {
        $(#[$d])*
        pub fn $f(mut self, value: $t) -> Self {
            self.$f = value;
            self
        }
    };

    // getters of required values
    (@rgetter $f:ident, $g:ident, $kind:ident, $args:tt $(, $acc:ident)?) => {
        #[doc = concat!("The `", stringify!($f),
            "` given to the constructor (read access, e.g. for a mock).")]
        pub fn $g(&self) -> request!(@rret $kind $args) {
            request!(@rread $kind, self.$f)
        }
        $(
            #[doc = concat!("The ", stringify!($f), " given to the constructor.")]
            pub fn $acc(&self) -> request!(@rret $kind $args) {
                request!(@rread $kind, self.$f)
            }
        )?
    };
    (@rret value ($t:ty)) => { &$t };
    (@rret copy ($t:ty)) => { $t };
    (@rret text ()) => { &str };
    (@rread value, $v:expr) => { &$v };
    (@rread copy, $v:expr) => { $v };
    (@rread text, $v:expr) => { &$v };

    // getters of optional values
    (@getter $f:ident, $g:ident, ctor_opt, ($t:ty)) => {
        #[doc = concat!("The `", stringify!($f),
            "` given to the constructor (read access, e.g. for a mock).")]
        pub fn $g(&self) -> Option<&$t> {
            self.$f.as_ref()
        }
    };
    (@getter $f:ident, $g:ident, $kind:ident, ($($arg:tt)*)) => {
        #[doc = concat!("What [`", stringify!($f), "`](Self::", stringify!($f),
            ") set (read access, e.g. for a mock).")]
        pub fn $g(&self) -> request!(@ret $kind ($($arg)*)) {
            request!(@read $kind, self.$f)
        }
    };
    (@ret opt ($t:ty)) => { Option<&$t> };
    (@ret copy ($t:ty)) => { Option<$t> };
    (@ret text ()) => { Option<&str> };
    (@ret verbatim ()) => { Option<&str> };
    (@ret sort_by ()) => { Option<&str> };
    (@ret switch ()) => { bool };
    (@ret list ($t:ty)) => { &[$t] };
    (@ret addresses ()) => { &[String] };
    (@ret select ()) => { &[String] };
    (@ret patch ($t:ty)) => { &Patch<$t> };
    (@ret patch_text ($clear:ident)) => { &Patch<String> };
    (@ret result_size ()) => { Option<u32> };
    (@ret embedded ($t:ty)) => { &$t };
    (@read opt, $v:expr) => { $v.as_ref() };
    (@read copy, $v:expr) => { $v };
    (@read text, $v:expr) => { $v.as_deref() };
    (@read verbatim, $v:expr) => { $v.as_deref() };
    (@read sort_by, $v:expr) => { $v.as_deref() };
    (@read switch, $v:expr) => { $v };
    (@read list, $v:expr) => { &$v };
    (@read addresses, $v:expr) => { &$v };
    (@read select, $v:expr) => { &$v };
    (@read patch, $v:expr) => { &$v };
    (@read patch_text, $v:expr) => { &$v };
    (@read result_size, $v:expr) => { $v };
    (@read embedded, $v:expr) => { &$v };

    // wire encoding of required values
    (@rput $s:ident, $p:ident, $kind:ident, $f:ident, _) => {};
    (@rput $s:ident, $p:ident, $kind:ident, $f:ident, $w:literal) => {
        $p.insert_json($w, ParamValue::to_json(&$s.$f));
    };

    // wire encoding of optional values
    (@put $s:ident, $p:ident, select, $f:ident, _) => {};
    (@put $s:ident, $p:ident, embedded, $f:ident, _) => {
        $s.$f.encode($p);
    };
    (@put $s:ident, $p:ident, opt, $f:ident, $w:literal) => { put($p, $w, &$s.$f) };
    (@put $s:ident, $p:ident, copy, $f:ident, $w:literal) => { put($p, $w, &$s.$f) };
    (@put $s:ident, $p:ident, ctor_opt, $f:ident, $w:literal) => { put($p, $w, &$s.$f) };
    (@put $s:ident, $p:ident, text, $f:ident, $w:literal) => {
        if let Some(v) = &$s.$f {
            check_non_empty::<Self>($w, v)?;
            $p.string($w, v.trim());
        }
    };
    (@put $s:ident, $p:ident, verbatim, $f:ident, $w:literal) => {
        if let Some(v) = &$s.$f {
            check_non_empty::<Self>($w, v)?;
            $p.string($w, v.clone());
        }
    };
    (@put $s:ident, $p:ident, sort_by, $f:ident, $w:literal) => {
        if let Some(v) = &$s.$f {
            check_sort_by::<Self>(v)?;
            $p.string($w, v.trim());
        }
    };
    (@put $s:ident, $p:ident, switch, $f:ident, $w:literal) => { put_switch($p, $w, $s.$f) };
    (@put $s:ident, $p:ident, list, $f:ident, $w:literal) => {
        if !$s.$f.is_empty() {
            $p.insert_json($w, Value::Array($s.$f.iter().map(ParamValue::to_json).collect()));
        }
    };
    (@put $s:ident, $p:ident, addresses, $f:ident, $w:literal) => {
        if $s.$f.iter().any(|a| a.trim().is_empty()) {
            return Err(invalid::<Self>($w, "addresses must not be empty"));
        }
        if !$s.$f.is_empty() {
            $p.strings($w, $s.$f.iter().map(|a| a.trim().to_string()));
        }
    };
    (@put $s:ident, $p:ident, patch, $f:ident, $w:literal) => { put_patch($p, $w, &$s.$f) };
    (@put $s:ident, $p:ident, patch_text, $f:ident, $w:literal) => { put_patch($p, $w, &$s.$f) };
    (@put $s:ident, $p:ident, result_size, $f:ident, $w:literal) => {
        result_size_param::<Self>($p, $s.$f)?
    };

    // the names a line may send
    (@name $v:ident, embedded, ($t:ty), _) => { $v.extend(<$t>::parameter_names()) };
    (@name $v:ident, $kind:ident, ($($arg:tt)*), _) => {};
    (@name $v:ident, $kind:ident, ($($arg:tt)*), $w:literal) => { $v.push($w) };

    // what a line does to the finished invocation
    (@after select, $inv:ident, $v:expr) => { with_select($inv, $v) };
    (@after $kind:ident, $inv:ident, $v:expr) => { $inv };
}
