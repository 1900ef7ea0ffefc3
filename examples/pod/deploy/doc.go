// Package deploy holds the files a podmin deploys the reference pod with,
// as docs/deploy.md describes them: nginx.conf (the nginx site in front of
// the pod), pod.service (the systemd unit), pod-tls.conf (its drop-in for a
// pod that serves HTTPS itself), pod.env and pod-tls.env (the unit's
// environment file in both variants).
//
// The package has no code. Its tests keep the files true: docs/deploy.md
// carries each of them verbatim, the environment files name only variables
// the pod reads, systemd-analyze accepts the unit, and two pods, each
// behind nginx with this nginx.conf and configured by pod.env, federate
// over TLS while nginx keeps forged X-Forwarded-For headers from the pod.
package deploy
