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
//
// Preflight failures can be planted for tests (all off by default): -ntp and
// -no-ntp set the hosts' NTP configuration, -deny-privilege makes the
// AuthorizationManager refuse privileges, -version/-build change the
// reported vCenter version, and -lonely-datastore adds a datastore that only
// one host of a cluster mounts.
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
	"sort"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

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

	// preflight failures (see applyPreflight)
	ntp             string
	noNTP           string
	denyPrivilege   string
	version         string
	build           string
	buildSet        bool
	lonelyDatastore string
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

	fs.StringVar(&o.ntp, "ntp", "", "comma-separated NTP `servers` configured on every host (config.dateTimeInfo.ntpConfig.server), with service ntpd running, policy on; default: hosts carry no dateTimeInfo")
	fs.StringVar(&o.noNTP, "no-ntp", "", "comma-separated host `names` (DC0_C0_H1, ...) with no NTP server and ntpd stopped, even with -ntp; an unknown name is an error")
	fs.StringVar(&o.denyPrivilege, "deny-privilege", "", "comma-separated privilege `ids` (Datastore.Browse, ...) that AuthorizationManager.HasPrivilegeOnEntity/HasPrivilegeOnEntities/HasUserPrivilegeOnEntities refuse and FetchUserPrivilegeOnEntities leaves out, for every user and entity")
	fs.StringVar(&o.version, "version", "", "report this vCenter `version` (7.0.3, ...) in ServiceContent.about (version, build, fullName); apiVersion stays 6.5. Default: 6.5.0")
	fs.StringVar(&o.build, "build", "20150588", "build `number` reported with -version (about.build)")
	fs.StringVar(&o.lonelyDatastore, "lonely-datastore", "", "add a datastore `name` mounted only by the first host of the first cluster (DC0_C0_H0); the cluster and datacenter list it, the cluster's other hosts do not")

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
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "build" {
			o.buildSet = true
		}
	})
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
	if o.buildSet && o.version == "" {
		return fmt.Errorf("-build needs -version")
	}
	if o.version != "" && o.build == "" {
		return fmt.Errorf("-build must be non-empty")
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

	lonelyDir, err := applyPreflight(o, model.Service)
	if lonelyDir != "" {
		defer os.RemoveAll(lonelyDir)
	}
	if err != nil {
		return err
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

// ---------------------------------------------------------------------------
// Preflight failures (-ntp, -no-ntp, -deny-privilege, -version, -lonely-datastore)
// ---------------------------------------------------------------------------

// applyPreflight changes the inventory created by model.Create, before the
// server starts, as the preflight flags ask. With every such flag at its
// default it changes nothing. It returns the temp directory backing
// -lonely-datastore (if one was created), which the caller removes on exit.
func applyPreflight(o *options, svc *simulator.Service) (lonelyDir string, err error) {
	servers := splitList(o.ntp)
	noNTP := splitList(o.noNTP)
	if len(servers) > 0 || len(noNTP) > 0 {
		if err := plantNTP(servers, noNTP); err != nil {
			return "", err
		}
		log.Printf("preflight: NTP servers %q on every host except %q", servers, noNTP)
	}

	if ids := splitList(o.denyPrivilege); len(ids) > 0 {
		if err := denyPrivileges(ids); err != nil {
			return "", err
		}
		log.Printf("preflight: privileges denied: %q", ids)
	}

	if o.version != "" {
		about := setVersion(o.version, o.build)
		log.Printf("preflight: about.fullName %q (apiVersion %s)", about.FullName, about.ApiVersion)
	}

	if o.lonelyDatastore != "" {
		host, dir, err := addLonelyDatastore(svc, o.lonelyDatastore)
		if err != nil {
			return dir, fmt.Errorf("-lonely-datastore %s: %w", o.lonelyDatastore, err)
		}
		log.Printf("preflight: datastore %s mounted on %s only", o.lonelyDatastore, host)
		return dir, nil
	}
	return "", nil
}

// splitList splits a comma-separated flag value, dropping blanks around and
// empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// hostsByName returns every HostSystem of the inventory (cluster and
// standalone hosts) by name.
func hostsByName() map[string]*simulator.HostSystem {
	hosts := make(map[string]*simulator.HostSystem)
	for _, e := range simulator.Map.All("HostSystem") {
		if h, ok := e.(*simulator.HostSystem); ok {
			hosts[h.Name] = h
		}
	}
	return hosts
}

// plantNTP gives every host the NTP servers (when any) and the hosts named
// in without none, ntpd stopped. An unknown name in without is an error.
func plantNTP(servers, without []string) error {
	hosts := hostsByName()
	off := make(map[string]bool, len(without))
	for _, name := range without {
		if hosts[name] == nil {
			names := make([]string, 0, len(hosts))
			for n := range hosts {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("-no-ntp: no host named %q (hosts: %s)", name, strings.Join(names, ", "))
		}
		off[name] = true
	}

	for name, h := range hosts {
		switch {
		case off[name]:
			setHostNTP(h, nil)
		case len(servers) > 0:
			setHostNTP(h, servers)
		}
	}
	return nil
}

// setHostNTP sets a host's config.dateTimeInfo (time zone UTC, NTP servers)
// and its ntpd service: running with policy "on" when there are servers,
// stopped with policy "off" otherwise. simulator.NewHostSystem gives each
// host its own deep copy of the HostConfigInfo template, so this changes
// this host only.
func setHostNTP(h *simulator.HostSystem, servers []string) {
	cfg := h.Config
	if cfg == nil {
		cfg = new(types.HostConfigInfo)
		h.Config = cfg
	}

	cfg.DateTimeInfo = &types.HostDateTimeInfo{
		TimeZone: types.HostDateTimeSystemTimeZone{
			Key:         "UTC",
			Name:        "UTC",
			Description: "UTC",
			GmtOffset:   0,
		},
		NtpConfig: &types.HostNtpConfig{Server: append([]string(nil), servers...)},
	}

	running, policy := len(servers) > 0, "off"
	if running {
		policy = "on"
	}
	if cfg.Service == nil {
		cfg.Service = new(types.HostServiceInfo)
	}
	for i := range cfg.Service.Service {
		if s := &cfg.Service.Service[i]; s.Key == "ntpd" {
			s.Running, s.Policy = running, policy
			return
		}
	}
	cfg.Service.Service = append(cfg.Service.Service, types.HostService{
		Key:     "ntpd",
		Label:   "NTP Daemon",
		Running: running,
		Ruleset: []string{"ntpClient"},
		Policy:  policy,
	})
}

// serviceContent returns the ServiceInstance's content, which
// RetrieveServiceContent hands out.
func serviceContent() *types.ServiceContent {
	return &simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content
}

// setVersion makes about read like vCenter V build N. about.apiVersion is
// left alone: clients negotiate the API version on it.
func setVersion(version, build string) types.AboutInfo {
	about := &serviceContent().About
	about.Version = version
	about.Build = build
	about.FullName = fmt.Sprintf("%s %s build-%s", about.Name, version, build)
	return *about
}

// privilegeDenier is the simulator's AuthorizationManager, with the
// privilege checks answering "not granted" for the denied ids.
//
// It embeds simulator.AuthorizationManager by value, not by pointer: the
// PropertyCollector finds the mo.AuthorizationManager (roleList,
// privilegeList, ...) by following the first field of wrapper structs, and
// cannot follow a pointer. The SOAP dispatcher looks methods up by name
// (reflect MethodByName) on the object registered under the moref, so these
// overrides are what a call reaches; the other methods are promoted.
type privilegeDenier struct {
	simulator.AuthorizationManager

	denied map[string]bool
}

// denyPrivileges replaces the registered AuthorizationManager with a
// privilegeDenier under the same moref.
func denyPrivileges(ids []string) error {
	ref := serviceContent().AuthorizationManager
	if ref == nil {
		return fmt.Errorf("-deny-privilege: the service content has no AuthorizationManager")
	}
	orig, ok := simulator.Map.Get(*ref).(*simulator.AuthorizationManager)
	if !ok {
		return fmt.Errorf("-deny-privilege: %s is a %T, not a *simulator.AuthorizationManager", *ref, simulator.Map.Get(*ref))
	}

	known := make(map[string]bool)
	for _, id := range object.AuthorizationRoleList(orig.RoleList).ByName("Admin").Privilege {
		known[id] = true
	}

	m := &privilegeDenier{AuthorizationManager: *orig, denied: make(map[string]bool, len(ids))}
	for _, id := range ids {
		if !known[id] {
			log.Printf("preflight: -deny-privilege %s: not a privilege of the simulator's Admin role (denied anyway)", id)
		}
		m.denied[id] = true
	}
	simulator.Map.Put(m) // same Self: replaces the original in the registry
	return nil
}

func (m *privilegeDenier) deny(list []types.EntityPrivilege) {
	for i := range list {
		for j := range list[i].PrivAvailability {
			p := &list[i].PrivAvailability[j]
			if m.denied[p.PrivId] {
				p.IsGranted = false
			}
		}
	}
}

func (m *privilegeDenier) HasPrivilegeOnEntities(req *types.HasPrivilegeOnEntities) soap.HasFault {
	res := m.AuthorizationManager.HasPrivilegeOnEntities(req)
	if body, ok := res.(*methods.HasPrivilegeOnEntitiesBody); ok && body.Res != nil {
		m.deny(body.Res.Returnval)
	}
	return res
}

func (m *privilegeDenier) HasUserPrivilegeOnEntities(req *types.HasUserPrivilegeOnEntities) soap.HasFault {
	res := m.AuthorizationManager.HasUserPrivilegeOnEntities(req)
	if body, ok := res.(*methods.HasUserPrivilegeOnEntitiesBody); ok && body.Res != nil {
		m.deny(body.Res.Returnval)
	}
	return res
}

func (m *privilegeDenier) HasPrivilegeOnEntity(req *types.HasPrivilegeOnEntity) soap.HasFault {
	res := m.AuthorizationManager.HasPrivilegeOnEntity(req)
	body, ok := res.(*methods.HasPrivilegeOnEntityBody)
	if !ok || body.Res == nil {
		return res
	}
	granted := make([]bool, len(req.PrivId))
	for i, id := range req.PrivId {
		granted[i] = !m.denied[id] && (i >= len(body.Res.Returnval) || body.Res.Returnval[i])
	}
	return &hasPrivilegeOnEntityBody{Res: &HasPrivilegeOnEntityResponse{Returnval: granted}}
}

// HasPrivilegeOnEntityResponse replaces types.HasPrivilegeOnEntityResponse
// in privilegeDenier's answers. The vim25 type tags Returnval
// `xml:"returnval,omitempty"`, and govmomi's XML encoder applies omitempty
// to each element of a slice: every false would be left out of the SOAP
// response, and the client would get a shorter list of trues. The simulator
// names the response element after the Go type of the body's Res field, so
// this type must keep this exact name.
type HasPrivilegeOnEntityResponse struct {
	Returnval []bool `xml:"returnval"`
}

type hasPrivilegeOnEntityBody struct {
	Res    *HasPrivilegeOnEntityResponse `xml:"HasPrivilegeOnEntityResponse,omitempty"`
	Fault_ *soap.Fault                   `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *hasPrivilegeOnEntityBody) Fault() *soap.Fault { return b.Fault_ }

func (m *privilegeDenier) FetchUserPrivilegeOnEntities(req *types.FetchUserPrivilegeOnEntities) soap.HasFault {
	res := m.AuthorizationManager.FetchUserPrivilegeOnEntities(req)
	if body, ok := res.(*methods.FetchUserPrivilegeOnEntitiesBody); ok && body.Res != nil {
		for i := range body.Res.Returnval {
			r := &body.Res.Returnval[i]
			kept := make([]string, 0, len(r.Privileges)) // fresh slice: the original shares the Admin role's
			for _, id := range r.Privileges {
				if !m.denied[id] {
					kept = append(kept, id)
				}
			}
			r.Privileges = kept
		}
	}
	return res
}

// firstCluster returns the first ClusterComputeResource met walking the
// inventory in creation order (datacenters, then their host folders), e.g.
// DC0_C0.
func firstCluster(ref types.ManagedObjectReference) *simulator.ClusterComputeResource {
	switch obj := simulator.Map.Get(ref).(type) {
	case *simulator.ClusterComputeResource:
		return obj
	case *simulator.Datacenter:
		return firstCluster(obj.HostFolder)
	case *simulator.Folder:
		for _, child := range obj.ChildEntity {
			if c := firstCluster(child); c != nil {
				return c
			}
		}
	}
	return nil
}

// addLonelyDatastore creates a local datastore, backed by a new temp
// directory, through HostDatastoreSystem.CreateLocalDatastore of the first
// host of the first cluster only. As for any local datastore, the simulator
// adds it to that host's and its cluster's datastore lists and to the
// datacenter's; the cluster's other hosts do not mount it.
func addLonelyDatastore(svc *simulator.Service, name string) (hostName, dir string, err error) {
	cluster := firstCluster(serviceContent().RootFolder)
	if cluster == nil || len(cluster.Host) == 0 {
		return "", "", fmt.Errorf("needs a cluster with at least one host (-cluster >= 1, -host >= 1)")
	}
	for _, e := range simulator.Map.All("Datastore") {
		if e.Entity().Name == name {
			return "", "", fmt.Errorf("a datastore named %s already exists", name)
		}
	}
	host, ok := simulator.Map.Get(cluster.Host[0]).(*simulator.HostSystem)
	if !ok || host.ConfigManager.DatastoreSystem == nil {
		return "", "", fmt.Errorf("host %s of cluster %s has no datastore system", cluster.Host[0], cluster.Name)
	}

	dir, err = os.MkdirTemp("", fmt.Sprintf("govcsim-%s-%s-", cluster.Name, name))
	if err != nil {
		return "", "", err
	}

	ctx := context.Background()
	c, err := vim25.NewClient(ctx, svc) // in process: Service is a soap.RoundTripper
	if err != nil {
		return host.Name, dir, err
	}
	dss := object.NewHostDatastoreSystem(c, *host.ConfigManager.DatastoreSystem)
	if _, err := dss.CreateLocalDatastore(ctx, name, dir); err != nil {
		return host.Name, dir, fmt.Errorf("creating it on %s: %w", host.Name, err)
	}
	return host.Name, dir, nil
}
