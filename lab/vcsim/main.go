// Command vcsim runs an in-memory vCenter simulator (govmomi's simulator
// package) for the provider's acceptance tests.
//
// It is built in GOPATH mode against Debian's golang-github-vmware-govmomi-dev
// (govmomi 0.24.2, sources under /usr/share/gocode); see
// scripts/build-vcsim.sh and README.md next to this file.
//
// When the simulator is ready, exactly one line is written to stdout:
//
//	VCSIM_URL=https://USER:PASS@127.0.0.1:PORT/sdk
//
// Everything else (logs, errors) goes to stderr. The process serves until
// SIGINT or SIGTERM and then exits with status 0.
//
// Each line read from stdin becomes the user's new password, as when an
// administrator changes it in vCenter's SSO: new logins need it, sessions
// already open stay valid. Each change is acknowledged on stdout with the
// line VCSIM_PASSWORD_CHANGED.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/vmware/govmomi/simulator"

	// Extra endpoints registered via simulator.RegisterEndpoint when
	// Service.RegisterEndpoints is true (VPX model only):
	_ "github.com/vmware/govmomi/lookup/simulator" // /lookupservice/sdk (SSO lookup service)
	_ "github.com/vmware/govmomi/pbm/simulator"    // /pbm (storage policy)
	_ "github.com/vmware/govmomi/sts/simulator"    // /sts (SSO token service)
	_ "github.com/vmware/govmomi/vapi/simulator"   // /rest (cis session, tagging, content library)
)

// restSessionPath is the vAPI REST login endpoint (vapi/internal.SessionPath
// under rest.Path).
const restSessionPath = "/rest/com/vmware/cis/session"

type options struct {
	listen      string
	username    string
	password    string
	passwordEnv string
	anyLogin    bool
	trace       bool

	datacenter     int
	cluster        int
	clusterHost    int
	standaloneHost int
	datastore      int
	portgroup      int
	vm             int
	pool           int
	folder         int
}

func parseFlags() *options {
	o := new(options)
	fs := flag.CommandLine

	fs.StringVar(&o.listen, "l", "127.0.0.1:0", "listen `address` (host:port); port 0 picks a free port")
	fs.StringVar(&o.username, "username", "user", "the only user name accepted by SOAP Login and REST session create")
	fs.StringVar(&o.password, "password", "pass", "the only password accepted by SOAP Login and REST session create (visible to every user in ps; prefer -password-env)")
	fs.StringVar(&o.passwordEnv, "password-env", "", "take the password from this environment `variable` instead of -password: a process's environment is readable by its owner only, its command line by everyone")
	fs.BoolVar(&o.anyLogin, "any-login", false, "accept any non-empty user name/password (vcsim's lax default); the ready line still shows -username/-password")
	fs.BoolVar(&o.trace, "trace", false, "write SOAP traffic to stderr")

	fs.IntVar(&o.datacenter, "dc", 1, "number of datacenters (DC0, DC1, ...)")
	fs.IntVar(&o.cluster, "cluster", 2, "clusters per datacenter (DC0_C0, DC0_C1, ...)")
	fs.IntVar(&o.clusterHost, "host", 3, "hosts per cluster (DC0_C0_H0, ...)")
	fs.IntVar(&o.standaloneHost, "standalone-host", 1, "standalone hosts per datacenter (DC0_H0, ...)")
	fs.IntVar(&o.datastore, "ds", 1, "local datastores, mounted on every host of a datacenter (LocalDS_0, ...)")
	fs.IntVar(&o.portgroup, "pg", 1, "distributed portgroups per datacenter on switch DVS0 (DC0_DVPG0, ...); every datacenter also has the standard network \"VM Network\"")
	fs.IntVar(&o.vm, "vm", 0, "VMs per host resource pool/standalone host (DC0_H0_VM0, DC0_C0_RP0_VM0, ...); needs -ds >= 1")
	fs.IntVar(&o.pool, "pool", 0, "extra child resource pools per cluster (DC0_C0_RP1, ...)")
	fs.IntVar(&o.folder, "folder", 0, "number of datacenters to place inside a folder (F0, ...)")

	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, `Usage: %s [flags]

Runs govmomi's vCenter simulator (VPX model) with the SOAP API (/sdk) and the
vAPI REST API (/rest), plus PBM, lookup service and STS endpoints, over HTTPS
with a self-signed certificate (clients must skip verification).

When ready it prints exactly one line on stdout:
  VCSIM_URL=https://USER:PASS@HOST:PORT/sdk
and serves until SIGINT/SIGTERM. Logs go to stderr.

Flags:
`, os.Args[0])
		fs.PrintDefaults()
	}

	flag.Parse()
	if flag.NArg() != 0 {
		fs.Usage()
		os.Exit(2)
	}
	return o
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("vcsim: ")
	log.SetOutput(os.Stderr)

	o := parseFlags()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o *options) error {
	if o.passwordEnv != "" {
		p, ok := os.LookupEnv(o.passwordEnv)
		if !ok || p == "" {
			return fmt.Errorf("-password-env %s: the variable is unset or empty", o.passwordEnv)
		}
		o.password = p
		// Not needed any more; nothing this process starts should inherit it.
		os.Unsetenv(o.passwordEnv)
	}
	if o.username == "" || o.password == "" {
		return fmt.Errorf("-username and -password must be non-empty")
	}
	if o.vm > 0 && o.datastore < 1 {
		return fmt.Errorf("-vm %d needs -ds >= 1 (VMs are placed on LocalDS_0)", o.vm)
	}

	simulator.Trace = o.trace

	model := simulator.VPX()
	model.Datacenter = o.datacenter
	model.Cluster = o.cluster
	model.ClusterHost = o.clusterHost
	model.Host = o.standaloneHost
	model.Datastore = o.datastore
	model.Portgroup = o.portgroup
	model.Machine = o.vm
	model.Pool = o.pool
	model.Folder = o.folder

	defer model.Remove() // temp dirs backing the local datastores

	if err := model.Create(); err != nil {
		return fmt.Errorf("creating inventory: %w", err)
	}

	// In govmomi 0.24.2, SessionManager.validLogin accepts any non-empty
	// user/password when Service.Listen.User is nil or is the very pointer
	// simulator.DefaultLogin; any other *url.Userinfo requires an exact match.
	user := url.UserPassword(o.username, o.password) // distinct pointer => strict
	if o.anyLogin {
		user = simulator.DefaultLogin
	}

	model.Service.RegisterEndpoints = true
	model.Service.TLS = new(tls.Config)
	model.Service.Listen = &url.URL{Host: o.listen, User: user}

	// The vAPI simulator's POST /rest/com/vmware/cis/session accepts any
	// non-empty basic-auth credentials. Put a check in front of it so REST
	// logins follow the same rule as SOAP. Registered from main's package
	// scope, this endpoint func runs after the imported packages' ones.
	var current atomic.Value
	current.Store(o.password)
	if !o.anyLogin {
		simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
			restrictRESTLogin(s, o.username, &current)
		})
	}

	srv, err := newServer(model.Service) // listens, registers endpoints, starts TLS
	if err != nil {
		return err
	}
	defer srv.Close()

	// srv.URL already carries the configured Userinfo and the /sdk path.
	ready := *srv.URL
	ready.User = url.UserPassword(o.username, o.password)
	fmt.Fprintf(os.Stdout, "VCSIM_URL=%s\n", ready.String())

	log.Printf("inventory: %d datacenter(s), %d cluster(s) x %d host(s), %d standalone host(s), %d datastore(s), %d portgroup(s), %d VM(s) per pool",
		o.datacenter, o.cluster, o.clusterHost, o.standaloneHost, o.datastore, o.portgroup, o.vm)

	if !o.anyLogin {
		go changePasswords(model.Service, o.username, &current)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Printf("shutting down")
	return nil
}

// newServer calls Service.NewServer, turning its panic on listen failure
// (e.g. address already in use) into an error.
func newServer(svc *simulator.Service) (srv *simulator.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting server: %v", r)
		}
	}()
	return svc.NewServer(), nil
}

// changePasswords makes each line of stdin the user's password. govmomi's
// SOAP login reads Service.Listen.User on every Login without a lock, so
// the new credentials go in as a fresh *url.URL swapped in whole: a
// pointer-sized store, which a concurrent Login sees either before or after,
// never torn (a benign race in a test simulator, not worth forking govmomi).
func changePasswords(svc *simulator.Service, username string, current *atomic.Value) {
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		p := lines.Text()
		if p == "" {
			continue
		}
		next := *svc.Listen
		next.User = url.UserPassword(username, p)
		svc.Listen = &next
		current.Store(p)
		log.Printf("password of %s changed", username)
		fmt.Fprintln(os.Stdout, "VCSIM_PASSWORD_CHANGED")
	}
}

// restrictRESTLogin wraps the vAPI session handler so that creating a session
// with basic auth requires the configured credentials (the current password).
func restrictRESTLogin(s *simulator.Service, username string, current *atomic.Value) {
	probe := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: restSessionPath}}
	next, pattern := s.ServeMux.Handler(probe)
	if pattern == "" || pattern == restSessionPath {
		return // vapi endpoint not registered (or already wrapped)
	}

	s.ServeMux.HandleFunc(restSessionPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Query().Get("~action") == "" {
			if u, p, ok := r.BasicAuth(); ok && (u != username || p != current.Load().(string)) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
