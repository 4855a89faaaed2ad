//! The SDK interceptor hooks the test interceptors use, reduced to what
//! each of them reads or changes: a call's input, its request, its response
//! and its state bag. An interceptor implements [`Hooks`] for the hooks it
//! needs and gets the SDK's `Intercept` from [`intercept_with_hooks!`], so
//! the SDK's four-parameter hook signatures are written once, here.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::config_bag::ConfigBag;

/// What a hook answers: an `Err` fails the call (or the attempt).
pub type Hooked = Result<(), BoxError>;

/// The name of the operation a call makes (`PutItem`), once its metadata is
/// in the bag (from `before_serialization` on).
pub fn operation_name(bag: &ConfigBag) -> Option<&str> {
    bag.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
        .map(|metadata| metadata.name())
}

/// Hooks on an SDK call; each does nothing unless implemented.
pub trait Hooks {
    /// Once per call, before its input is serialized.
    fn before_serialization(&self, _input: &Input, _bag: &mut ConfigBag) -> Hooked {
        Ok(())
    }

    /// Once per call, before its input is serialized: may change it.
    fn modify_input(&self, _input: &mut Input, _bag: &mut ConfigBag) -> Hooked {
        Ok(())
    }

    /// Per attempt, before the request leaves.
    fn before_transmit(&self, _bag: &mut ConfigBag) -> Hooked {
        Ok(())
    }

    /// Per attempt, before the request leaves: may change it.
    fn modify_request(&self, _request: &mut HttpRequest, _bag: &mut ConfigBag) -> Hooked {
        Ok(())
    }

    /// Per attempt, before the response is read: may change it.
    fn modify_response(&self, _response: &mut HttpResponse, _bag: &mut ConfigBag) -> Hooked {
        Ok(())
    }

    /// Per attempt, once the response was read.
    fn after_deserialization(&self, _bag: &mut ConfigBag) -> Hooked {
        Ok(())
    }
}

/// The SDK types the macro's hooks name.
pub mod sdk {
    pub use aws_smithy_runtime_api::client::interceptors::context::{
        AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextMut,
        BeforeSerializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
        BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
    };
    pub use aws_smithy_runtime_api::client::interceptors::Intercept;
    pub use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    pub use aws_smithy_types::config_bag::ConfigBag;
}

/// Implements the SDK's `Intercept` for a type by calling its [`Hooks`].
#[macro_export]
macro_rules! intercept_with_hooks {
    ($interceptor:ty) => {
        impl $crate::hooks::sdk::Intercept for $interceptor {
            fn name(&self) -> &'static str {
                stringify!($interceptor)
            }
            $crate::intercept_with_hooks!(@read read_before_serialization, BeforeSerializationInterceptorContextRef, |cx, bag| before_serialization(cx.input(), bag));
            $crate::intercept_with_hooks!(@modify modify_before_serialization, BeforeSerializationInterceptorContextMut, |cx, bag| modify_input(cx.input_mut(), bag));
            $crate::intercept_with_hooks!(@read read_before_transmit, BeforeTransmitInterceptorContextRef, |_cx, bag| before_transmit(bag));
            $crate::intercept_with_hooks!(@modify modify_before_transmit, BeforeTransmitInterceptorContextMut, |cx, bag| modify_request(cx.request_mut(), bag));
            $crate::intercept_with_hooks!(@modify modify_before_deserialization, BeforeDeserializationInterceptorContextMut, |cx, bag| modify_response(cx.response_mut(), bag));
            $crate::intercept_with_hooks!(@read read_after_deserialization, AfterDeserializationInterceptorContextRef, |_cx, bag| after_deserialization(bag));
        }
    };
    (@read $sdk_hook:ident, $context:ident, |$cx:ident, $bag:ident| $hook:ident($($arg:expr),*)) => {
        fn $sdk_hook(&self, $cx: &$crate::hooks::sdk::$context<'_>, _: &$crate::hooks::sdk::RuntimeComponents, $bag: &mut $crate::hooks::sdk::ConfigBag) -> $crate::hooks::Hooked {
            $crate::hooks::Hooks::$hook(self, $($arg),*)
        }
    };
    (@modify $sdk_hook:ident, $context:ident, |$cx:ident, $bag:ident| $hook:ident($($arg:expr),*)) => {
        fn $sdk_hook(&self, $cx: &mut $crate::hooks::sdk::$context<'_>, _: &$crate::hooks::sdk::RuntimeComponents, $bag: &mut $crate::hooks::sdk::ConfigBag) -> $crate::hooks::Hooked {
            $crate::hooks::Hooks::$hook(self, $($arg),*)
        }
    };
}
