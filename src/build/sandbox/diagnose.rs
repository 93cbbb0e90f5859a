//! Why a sandbox could not start here, in terms a user can act on: which sysctl or container
//! setting forbids the namespaces, and how to allow them.

use nix::libc;

/// A hint appended to a namespace or setup error, or "" when the errno says nothing about
/// permissions.
pub(super) fn hint(rootless: bool, errno: Option<i32>) -> String {
    hint_from(rootless, errno, &|name| std::fs::read_to_string(format!("/proc/sys/{name}")).ok())
}

/// `sysctl` reads a file under /proc/sys (`kernel/unprivileged_userns_clone`), None if absent.
pub(super) fn hint_from(
    rootless: bool,
    errno: Option<i32>,
    sysctl: &dyn Fn(&str) -> Option<String>,
) -> String {
    if !matches!(errno, Some(libc::EPERM | libc::EACCES | libc::ENOSPC | libc::EINVAL | libc::ENOSYS)) {
        return String::new();
    }
    if !rootless {
        return "\nhint: ingot runs as root, yet the kernel refused: inside a container this needs \
                CAP_SYS_ADMIN and a seccomp profile that allows unshare, clone and mount \
                (docker: --privileged, or --cap-add SYS_ADMIN --security-opt seccomp=unconfined)"
            .to_string();
    }
    let value = |name: &str| sysctl(name).map(|v| v.trim().to_string());
    if value("kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "\nhint: unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): \
                enable them with `sysctl -w kernel.unprivileged_userns_clone=1`, or run ingot as root"
            .to_string();
    }
    if value("user/max_user_namespaces").as_deref() == Some("0") {
        return "\nhint: user namespaces are disabled (user.max_user_namespaces = 0): raise it with \
                `sysctl -w user.max_user_namespaces=10000`, or run ingot as root"
            .to_string();
    }
    if value("kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "\nhint: AppArmor restricts unprivileged user namespaces \
                (kernel.apparmor_restrict_unprivileged_userns = 1): give ingot an AppArmor profile \
                that allows `userns,`, or `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, \
                or run ingot as root"
            .to_string();
    }
    "\nhint: kernel.unprivileged_userns_clone, user.max_user_namespaces and \
     kernel.apparmor_restrict_unprivileged_userns all allow user namespaces, so a container's \
     seccomp profile or a security module is refusing them: run ingot outside the container, or as root"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn disabled_unprivileged_userns_clone_is_named_with_its_fix() {
        let hint = hint_from(true, Some(libc::EPERM), &with(&[("kernel/unprivileged_userns_clone", "0\n")]));
        assert!(hint.contains("kernel.unprivileged_userns_clone = 0"), "{hint}");
        assert!(hint.contains("sysctl -w kernel.unprivileged_userns_clone=1"), "{hint}");
    }

    #[test]
    fn zero_max_user_namespaces_is_named() {
        let hint = hint_from(true, Some(libc::ENOSPC), &with(&[("user/max_user_namespaces", "0")]));
        assert!(hint.contains("user.max_user_namespaces = 0"), "{hint}");
    }

    #[test]
    fn apparmor_restriction_is_named() {
        let values =
            &[("kernel/apparmor_restrict_unprivileged_userns", "1"), ("user/max_user_namespaces", "100")];
        let hint = hint_from(true, Some(libc::EACCES), &with(values));
        assert!(hint.contains("kernel.apparmor_restrict_unprivileged_userns = 1"), "{hint}");
        assert!(hint.contains("userns,"), "{hint}");
    }

    #[test]
    fn open_sysctls_point_at_the_container() {
        let hint = hint_from(true, Some(libc::EPERM), &with(&[]));
        assert!(hint.contains("seccomp"), "{hint}");
    }

    #[test]
    fn refusal_as_root_points_at_container_capabilities() {
        let hint = hint_from(false, Some(libc::EPERM), &with(&[("kernel/unprivileged_userns_clone", "0")]));
        assert!(hint.contains("CAP_SYS_ADMIN"), "{hint}");
        assert!(!hint.contains("unprivileged_userns_clone"), "{hint}");
    }

    #[test]
    fn errors_unrelated_to_permission_get_no_hint() {
        assert_eq!(hint_from(true, Some(libc::ENOTDIR), &with(&[])), "");
    }
}
