package main

// Built-in HTTPS: --tls-domain (a certificate from an ACME CA, Let's
// Encrypt by default, obtained and renewed by autocert) or --tls-cert and
// --tls-key (the podmin's own certificate, re-read when its files change),
// and the plain-http listener of --http-addr that redirects to https.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

// tlsOptions are the flags of built-in HTTPS.
type tlsOptions struct {
	domain, cert, key string
	httpAddr          string
	acmeDirectory     string
	acmeCA, acmeEmail string
}

// acmeRenewBefore is autocert.Manager.RenewBefore; 0 is autocert's default
// (a third of the certificate's lifetime, at most 30 days). Tests shorten
// the wait for a renewal with it.
var acmeRenewBefore time.Duration

func (t *tlsOptions) define(fs *flag.FlagSet, env *envReader) {
	fs.StringVar(&t.domain, "tls-domain", env.str("POD_TLS_DOMAIN", ""),
		"serve https with a certificate for this `domain` obtained and renewed by ACME (Let's Encrypt), kept in DATA/acme; "+
			"--addr then defaults to :443, --http-addr to :80 and --url to https://DOMAIN/ (POD_TLS_DOMAIN)")
	fs.StringVar(&t.cert, "tls-cert", env.str("POD_TLS_CERT", ""),
		"serve https with the certificate (and its chain) in this PEM `file`, re-read when it changes; needs --tls-key and --url (POD_TLS_CERT)")
	fs.StringVar(&t.key, "tls-key", env.str("POD_TLS_KEY", ""), "the PEM `file` of --tls-cert's private key (POD_TLS_KEY)")
	fs.StringVar(&t.httpAddr, "http-addr", env.str("POD_HTTP_ADDR", ""),
		"with https: the plain-http listen `address` that redirects to https and answers ACME http-01 challenges; "+
			"default :80 with --tls-domain, none with --tls-cert; off for none (POD_HTTP_ADDR)")
	fs.StringVar(&t.acmeDirectory, "acme-directory", env.str("POD_ACME_DIRECTORY", autocert.DefaultACMEDirectory),
		"directory `URL` of the ACME CA of --tls-domain (POD_ACME_DIRECTORY)")
	fs.StringVar(&t.acmeCA, "acme-ca", env.str("POD_ACME_CA", ""),
		"PEM `file` of root certificates also trusted for the ACME CA's https, for a test CA such as pebble (POD_ACME_CA)")
	fs.StringVar(&t.acmeEmail, "acme-email", env.str("POD_ACME_EMAIL", ""),
		"contact `address` given to the ACME CA for notices about the certificate (POD_ACME_EMAIL)")
}

// given reports whether flag name was set on the command line or its
// environment variable is set.
func given(fs *flag.FlagSet, name, envName string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	_, inEnv := os.LookupEnv(envName)
	return set || inEnv
}

// applyTLS checks the https flags and fills in what they imply: with
// --tls-domain or --tls-cert, --addr defaults to :443 and --url must be
// https; with --tls-domain, --url defaults to https://DOMAIN/ (another
// host is refused) and --http-addr to :80.
func (o *options) applyTLS(fs *flag.FlagSet) error {
	t := &o.tls
	t.domain = strings.ToLower(strings.TrimSpace(t.domain))
	switch {
	case t.domain != "" && (t.cert != "" || t.key != ""):
		return errors.New("--tls-domain (a certificate from ACME) and --tls-cert/--tls-key (your own) exclude each other: choose one")
	case t.cert != "" && t.key == "":
		return errors.New("--tls-cert needs --tls-key, the file of its private key")
	case t.key != "" && t.cert == "":
		return errors.New("--tls-key needs --tls-cert, the file of the certificate")
	}
	if t.domain == "" {
		for _, f := range []struct {
			name string
			set  bool
		}{{"acme-directory", t.acmeDirectory != autocert.DefaultACMEDirectory}, {"acme-ca", t.acmeCA != ""}, {"acme-email", t.acmeEmail != ""}} {
			if f.set {
				return fmt.Errorf("--%s is for --tls-domain, which is not set", f.name)
			}
		}
		if t.cert == "" {
			if t.httpAddr != "" && t.httpAddr != "off" {
				return errors.New("--http-addr redirects to the https of --tls-domain or --tls-cert, and neither is set")
			}
			return nil
		}
	} else {
		if err := checkDomain(t.domain); err != nil {
			return err
		}
		if t.httpAddr == "" {
			t.httpAddr = ":80"
		}
		if o.url == "" {
			o.url = "https://" + t.domain + "/"
		}
	}
	if t.httpAddr == "off" {
		t.httpAddr = ""
	}
	if !given(fs, "addr", "POD_ADDR") {
		o.addr = ":443"
	}
	if o.url == "" { // --tls-cert
		host, port, err := net.SplitHostPort(o.addr)
		if err != nil || host == "" {
			return fmt.Errorf("--tls-cert: set --url to the pod's public https URL (--addr %s names no host)", o.addr)
		}
		if port == "443" {
			o.url = "https://" + host + "/"
		} else {
			o.url = "https://" + net.JoinHostPort(host, port) + "/"
		}
	}
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--url %q: the pod serves https itself, so its public URL is https://HOST/", o.url)
	}
	if t.domain != "" && !strings.EqualFold(u.Hostname(), t.domain) {
		return fmt.Errorf("--url %q is not on --tls-domain %s: the certificate is for %s only", o.url, t.domain, t.domain)
	}
	return nil
}

// checkDomain refuses what cannot be a certificate's domain name.
func checkDomain(d string) error {
	switch {
	case strings.ContainsAny(d, ":/@ ") || strings.Trim(d, ".") != d:
		return fmt.Errorf("--tls-domain %q: give the bare domain name, like pod.example", d)
	case net.ParseIP(d) != nil:
		return fmt.Errorf("--tls-domain %q: ACME certificates here are for domain names, not IP addresses", d)
	case !strings.Contains(d, "."):
		return fmt.Errorf("--tls-domain %q: a public domain name has a dot, like pod.example", d)
	}
	return nil
}

// listenTLS turns the pod's listener into an https one when --tls-domain or
// --tls-cert is set, and starts the plain-http listener of --http-addr
// that redirects to it (and answers ACME http-01 challenges). stop ends
// that listener and the ACME manager's use of the network and the data
// directory. Without https, ln comes back as it is.
func listenTLS(o options, ln net.Listener, logger *slog.Logger) (_ net.Listener, stop func(), err error) {
	t := o.tls
	if t.domain == "" && t.cert == "" {
		return ln, func() {}, nil
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	base, err := url.Parse(o.url)
	if err != nil {
		return nil, nil, err
	}
	var cfg *tls.Config
	var httpHandler http.Handler = redirectToHTTPS(base)
	var stops []func()
	if t.domain != "" {
		m, closeACME, err := newACMEManager(o, logger)
		if err != nil {
			return nil, nil, err
		}
		stops = append(stops, closeACME)
		cfg = m.TLSConfig()
		if t.httpAddr != "" {
			httpHandler = m.HTTPHandler(httpHandler)
		}
		go obtainCertificate(m, t.domain, logger)
	} else {
		cf, err := loadCertFiles(t.cert, t.key, logger)
		if err != nil {
			return nil, nil, err
		}
		leaf := cf.leaf()
		if err := leaf.VerifyHostname(base.Hostname()); err != nil {
			logger.Warn("the certificate of --tls-cert is not for the host of the public URL", "url", o.url, "names", leaf.DNSNames)
		}
		if time.Now().After(leaf.NotAfter) {
			logger.Warn("the certificate of --tls-cert has expired", "not_after", leaf.NotAfter)
		}
		cfg = &tls.Config{GetCertificate: cf.get, NextProtos: []string{"h2", "http/1.1"}}
		logger.Info("https with the certificate of --tls-cert, re-read when its files change", "names", leaf.DNSNames, "not_after", leaf.NotAfter)
	}
	cfg.MinVersion = tls.VersionTLS12
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	if t.httpAddr != "" {
		hln, err := net.Listen("tcp", t.httpAddr)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("--http-addr: %w (off: no plain-http listener)", err)
		}
		hsrv := pod.NewServer(httpHandler, logger)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := hsrv.Serve(hln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("the plain-http listener stopped", "addr", t.httpAddr, "err", err)
			}
		}()
		logger.Info("plain http redirecting to https", "addr", hln.Addr().String())
		stops = append([]func(){func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if hsrv.Shutdown(sctx) != nil {
				hsrv.Close()
			}
			<-done
		}}, stops...)
	}
	return tls.NewListener(ln, cfg), stop, nil
}

// redirectToHTTPS sends every request to the same path and query on the
// pod's https URL, with 308 so that a POST stays a POST.
func redirectToHTTPS(base *url.URL) http.Handler {
	origin := "https://" + base.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, origin+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// newACMEManager is the autocert manager of --tls-domain, with its
// certificates and account key in DATA/acme. closeACME stops it from
// reaching the CA or the cache: call it when serving ends.
func newACMEManager(o options, logger *slog.Logger) (_ *autocert.Manager, closeACME func(), err error) {
	t := o.tls
	dir := filepath.Join(o.data, "acme")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("--tls-domain keeps its certificates in %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if t.acmeCA != "" {
		pemData, err := os.ReadFile(t.acmeCA)
		if err != nil {
			return nil, nil, fmt.Errorf("--acme-ca: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pemData) {
			return nil, nil, fmt.Errorf("--acme-ca %s: no PEM certificate in it", t.acmeCA)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	life, end := context.WithCancel(context.Background())
	cache := &acmeCache{dir: autocert.DirCache(dir), domain: t.domain, log: logger}
	m := &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		Cache:       cache,
		HostPolicy:  autocert.HostWhitelist(t.domain),
		Email:       t.acmeEmail,
		RenewBefore: acmeRenewBefore,
		Client: &acme.Client{
			DirectoryURL: t.acmeDirectory,
			UserAgent:    "go-diaspora-pod",
			HTTPClient:   &http.Client{Transport: untilDone{life, tr}, Timeout: time.Minute},
		},
	}
	logger.Info("https with a certificate from ACME", "domain", t.domain, "acme_directory", t.acmeDirectory, "cache", dir)
	return m, func() {
		end()
		cache.close()
		tr.CloseIdleConnections()
	}, nil
}

// obtainCertificate asks for the domain's certificate at start, so that
// it is there before the first visitor and a failure shows in the log; it
// also starts autocert's renewal timer for a certificate from the cache.
func obtainCertificate(m *autocert.Manager, domain string, logger *slog.Logger) {
	c, err := m.GetCertificate(&tls.ClientHelloInfo{
		ServerName:       domain,
		CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
	})
	if err != nil {
		logger.Error("no certificate from ACME yet: https fails until there is one (it is tried again on each https connection)", "domain", domain, "err", err)
		return
	}
	if c.Leaf != nil {
		logger.Info("certificate ready", "domain", domain, "issuer", c.Leaf.Issuer.CommonName, "not_after", c.Leaf.NotAfter)
	}
}

// untilDone refuses the ACME client's requests once serving has ended
// (autocert's renewal timers outlive the server).
type untilDone struct {
	ctx context.Context
	rt  http.RoundTripper
}

func (u untilDone) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := u.ctx.Err(); err != nil {
		return nil, fmt.Errorf("the pod stopped serving: %w", err)
	}
	return u.rt.RoundTrip(r)
}

// acmeCache is autocert's directory cache, logging each certificate it
// stores and closed when serving ends.
type acmeCache struct {
	dir    autocert.Cache
	domain string
	log    *slog.Logger

	mu     sync.RWMutex
	closed bool
}

var errCacheClosed = errors.New("the pod stopped serving: its ACME cache is closed")

func (c *acmeCache) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, errCacheClosed
	}
	return c.dir.Get(ctx, key)
}

func (c *acmeCache) Put(ctx context.Context, key string, data []byte) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return errCacheClosed
	}
	if err := c.dir.Put(ctx, key, data); err != nil {
		c.log.Error("ACME cache: cannot store", "key", key, "err", err)
		return err
	}
	if key == c.domain || key == c.domain+"+rsa" {
		if leaf := firstCertificate(data); leaf != nil {
			c.log.Info("certificate stored", "domain", c.domain, "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter)
		}
	}
	return nil
}

func (c *acmeCache) Delete(ctx context.Context, key string) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return errCacheClosed
	}
	return c.dir.Delete(ctx, key)
}

// close waits for a store in progress and refuses the rest.
func (c *acmeCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// firstCertificate is the first certificate of a PEM bundle, nil if none.
func firstCertificate(data []byte) *x509.Certificate {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil
			}
			return c
		}
	}
}

// certFiles serves the certificate of --tls-cert and --tls-key, re-read
// on the first handshake after either file's modification time or size
// changes. A pair that does not load (a key written before its
// certificate, say) is logged once, and the previous one served on.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  [2]fileStamp // of the pair being served
	refused [2]fileStamp // of the last pair that did not load
	statErr string       // the last error reading the files, logged once
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func loadCertFiles(certFile, keyFile string, logger *slog.Logger) (*certFiles, error) {
	cf := &certFiles{certFile: certFile, keyFile: keyFile, log: logger}
	st, err := cf.stamps()
	if err != nil {
		return nil, err
	}
	c, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cf.cert, cf.loaded = c, st
	return cf, nil
}

func (cf *certFiles) stamps() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, name := range []string{cf.certFile, cf.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, fmt.Errorf("--tls-%s: %w", []string{"cert", "key"}[i], err)
		}
		st[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return st, nil
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s with --tls-key %s: %w", certFile, keyFile, err)
	}
	return &c, nil
}

// leaf is the certificate being served.
func (cf *certFiles) leaf() *x509.Certificate {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return cf.cert.Leaf
}

// get is tls.Config.GetCertificate.
func (cf *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	st, err := cf.stamps()
	switch {
	case err != nil:
		if cf.statErr != err.Error() {
			cf.statErr = err.Error()
			cf.log.Error("cannot read the certificate files: serving the previous certificate", "err", err)
		}
		return cf.cert, nil
	case st == cf.loaded || st == cf.refused:
		return cf.cert, nil
	}
	cf.statErr = ""
	c, err := loadPair(cf.certFile, cf.keyFile)
	if err != nil {
		cf.refused = st
		cf.log.Error("the changed certificate files do not load: serving the previous certificate", "err", err)
		return cf.cert, nil
	}
	cf.cert, cf.loaded = c, st
	cf.log.Info("certificate re-read", "file", cf.certFile, "names", c.Leaf.DNSNames, "not_after", c.Leaf.NotAfter)
	return cf.cert, nil
}
