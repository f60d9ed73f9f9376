//! `#[otel_rust_bridge::instrument]`: `#[tracing::instrument]` with the current Python span
//! attached as the OpenTelemetry parent *before* the span is created.
//!
//! The function is split in two: the outer function (the one PyO3 sees, with the same
//! signature) attaches the Python context, then calls an inner copy carrying
//! `#[tracing::instrument]`, whose span is therefore created under that context. Setting the
//! parent from inside the body instead is too late: tracing-opentelemetry (>= 0.32) ignores
//! `set_parent` once the span has been entered.

use proc_macro::TokenStream;
use proc_macro2::TokenTree;
use quote::{format_ident, quote};
use syn::{parse_macro_input, FnArg, ItemFn, Pat, Type};

#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let function = parse_macro_input!(item as ItemFn);
    match expand(args, function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(
    args: proc_macro2::TokenStream,
    function: ItemFn,
) -> syn::Result<proc_macro2::TokenStream> {
    let signature = &function.sig;
    if let Some(asyncness) = &signature.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "otel_rust_bridge::instrument does not take async functions; wrap the future with \
             otel_rust_bridge::in_python_context instead",
        ));
    }
    let mut python = None;
    let mut call_args = Vec::new();
    let mut inner_inputs = Vec::new();
    let mut outer_inputs = Vec::new();
    for input in &signature.inputs {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "otel_rust_bridge::instrument takes free functions; in methods, call \
                 otel_rust_bridge::with_python_parent around a #[tracing::instrument] function",
            ));
        };
        let Pat::Ident(binding) = &*typed.pat else {
            return Err(syn::Error::new_spanned(
                &typed.pat,
                "otel_rust_bridge::instrument needs plain argument names",
            ));
        };
        let name = &binding.ident;
        if python.is_none() && is_python_token(&typed.ty) {
            python = Some(name.clone());
        }
        call_args.push(name.clone());
        // The outer function keeps the argument attributes (`#[pyo3(...)]`) and drops `mut`,
        // which only the body (now in the inner function) needs.
        let mut outer = typed.clone();
        outer.pat = Box::new(Pat::Ident(syn::PatIdent {
            mutability: None,
            ..binding.clone()
        }));
        outer_inputs.push(FnArg::Typed(outer));
        let mut inner = typed.clone();
        inner.attrs.clear();
        inner_inputs.push(FnArg::Typed(inner));
    }
    let Some(python) = python else {
        return Err(syn::Error::new_spanned(
            &signature.ident,
            "otel_rust_bridge::instrument needs a `py: Python<'_>` argument (`_py` if the body \
             does not use it) to read the current Python span",
        ));
    };

    let name = signature.ident.to_string();
    let args = skip_python_token(args, &python);
    let instrument_args = if names_the_span(&args) {
        args
    } else {
        quote!(name = #name, #args)
    };
    let inner_name = format_ident!("__otel_bridge_{}", signature.ident);
    let attrs = &function.attrs;
    let vis = &function.vis;
    let body = &function.block;
    let generics = &signature.generics;
    let where_clause = &signature.generics.where_clause;
    let output = &signature.output;
    let outer_name = &signature.ident;
    let unsafety = &signature.unsafety;
    let constness = &signature.constness;

    Ok(quote! {
        #(#attrs)*
        #vis #constness #unsafety fn #outer_name #generics (#(#outer_inputs),*) #output #where_clause {
            #[::tracing::instrument(#instrument_args)]
            #[inline(always)]
            #unsafety fn #inner_name #generics (#(#inner_inputs),*) #output #where_clause #body

            let __otel_bridge_parent = ::otel_rust_bridge::ParentGuard::attach(#python);
            #inner_name(#(#call_args),*)
        }
    })
}

/// `Python<'py>` (however it is imported).
fn is_python_token(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Python"),
        _ => false,
    }
}

/// The token is no span field (it has no `Debug`): add it to `skip(...)`, unless the
/// arguments say `skip_all`.
fn skip_python_token(
    args: proc_macro2::TokenStream,
    python: &syn::Ident,
) -> proc_macro2::TokenStream {
    let mut tokens: Vec<TokenTree> = args.into_iter().collect();
    if tokens
        .iter()
        .any(|token| matches!(token, TokenTree::Ident(ident) if ident == "skip_all"))
    {
        return tokens.into_iter().collect();
    }
    let skip_list = tokens.windows(2).position(|pair| {
        matches!(&pair[0], TokenTree::Ident(ident) if ident == "skip")
            && matches!(&pair[1], TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Parenthesis)
    });
    match skip_list {
        Some(index) => {
            let TokenTree::Group(group) = &tokens[index + 1] else {
                unreachable!("matched above")
            };
            let inner = group.stream();
            let mut extended = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                quote!(#python, #inner),
            );
            extended.set_span(group.span());
            tokens[index + 1] = TokenTree::Group(extended);
            tokens.into_iter().collect()
        }
        None if tokens.is_empty() => quote!(skip(#python)),
        None => {
            let args: proc_macro2::TokenStream = tokens.into_iter().collect();
            quote!(skip(#python), #args)
        }
    }
}

/// Whether the arguments already say `name = ...`.
fn names_the_span(args: &proc_macro2::TokenStream) -> bool {
    let tokens: Vec<TokenTree> = args.clone().into_iter().collect();
    tokens.windows(2).enumerate().any(|(index, pair)| {
        let at_argument_start =
            index == 0 || matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == ',');
        at_argument_start
            && matches!(&pair[0], TokenTree::Ident(ident) if ident == "name")
            && matches!(&pair[1], TokenTree::Punct(p) if p.as_char() == '=')
    })
}
