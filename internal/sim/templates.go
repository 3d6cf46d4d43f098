package sim

import (
	"fmt"
	"sort"
)

// StepDef is one step of a task template.
type StepDef struct {
	Name     string
	Deps     []string // names of the parent steps
	MedianMS float64  // median handler duration
}

// Template is a task handler: a named DAG of steps.
type Template struct {
	Name   string
	Class  string   // handler class, as in handler.registered
	Tables []string // tables its steps query
	Steps  []StepDef
}

// The built-in templates. The first four are the ones of the shared fixture
// (same names, steps and dependencies); report_generation adds a wide DAG.
var builtinTemplates = []Template{
	{
		Name: "order_fulfillment", Class: "OrderFulfillmentHandler",
		Tables: []string{"orders", "inventory_items", "payments", "shipments"},
		Steps: []StepDef{
			{Name: "validate_order", MedianMS: 30},
			{Name: "reserve_inventory", Deps: []string{"validate_order"}, MedianMS: 120},
			{Name: "charge_payment", Deps: []string{"validate_order"}, MedianMS: 90},
			{Name: "ship_order", Deps: []string{"reserve_inventory", "charge_payment"}, MedianMS: 250},
			{Name: "send_confirmation", Deps: []string{"ship_order"}, MedianMS: 40},
		},
	},
	{
		Name: "payment_processing", Class: "PaymentProcessingHandler",
		Tables: []string{"payments", "accounts", "orders"},
		Steps: []StepDef{
			{Name: "fetch_account", MedianMS: 60},
			{Name: "authorize_card", Deps: []string{"fetch_account"}, MedianMS: 200},
			{Name: "capture_funds", Deps: []string{"authorize_card"}, MedianMS: 100},
		},
	},
	{
		Name: "inventory_sync", Class: "InventorySyncHandler",
		Tables: []string{"inventory_items", "suppliers"},
		Steps: []StepDef{
			{Name: "pull_supplier_feed", MedianMS: 300},
			{Name: "diff_catalog", Deps: []string{"pull_supplier_feed"}, MedianMS: 80},
			{Name: "apply_updates", Deps: []string{"diff_catalog"}, MedianMS: 150},
		},
	},
	{
		Name: "user_onboarding", Class: "UserOnboardingHandler",
		Tables: []string{"users", "workspaces"},
		Steps: []StepDef{
			{Name: "create_user", MedianMS: 40},
			{Name: "provision_workspace", Deps: []string{"create_user"}, MedianMS: 180},
			{Name: "sync_crm", Deps: []string{"create_user"}, MedianMS: 120},
			{Name: "send_welcome_email", Deps: []string{"create_user"}, MedianMS: 60},
			{Name: "notify_sales", Deps: []string{"sync_crm", "provision_workspace"}, MedianMS: 50},
		},
	},
	{
		Name: "report_generation", Class: "ReportGenerationHandler",
		Tables: []string{"reports", "orders", "users", "inventory_items"},
		Steps: []StepDef{
			{Name: "load_parameters", MedianMS: 15},
			{Name: "query_sales", Deps: []string{"load_parameters"}, MedianMS: 220},
			{Name: "query_inventory", Deps: []string{"load_parameters"}, MedianMS: 160},
			{Name: "query_users", Deps: []string{"load_parameters"}, MedianMS: 110},
			{Name: "aggregate_metrics", Deps: []string{"query_sales", "query_inventory", "query_users"}, MedianMS: 90},
			{Name: "render_pdf", Deps: []string{"aggregate_metrics"}, MedianMS: 350},
			{Name: "render_csv", Deps: []string{"aggregate_metrics"}, MedianMS: 70},
			{Name: "publish_report", Deps: []string{"render_pdf", "render_csv"}, MedianMS: 45},
		},
	},
}

// Templates returns a copy of the built-in templates, sorted by name.
func Templates() []Template {
	out := append([]Template(nil), builtinTemplates...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TemplateNames returns the names of the built-in templates, sorted.
func TemplateNames() []string {
	var names []string
	for _, t := range Templates() {
		names = append(names, t.Name)
	}
	return names
}

// compiled is a template prepared for the generator: dependency indices and
// the payload values every task of the template shares.
type compiled struct {
	Template
	deps      [][]int
	children  [][]int
	stepDeps  []Value // step_dependencies of each step
	stepInput Value   // step_inputs
	taskName  Value
	queries   []query // every (table, operation) pair
}

type query struct {
	sql, name string
}

func compile(t Template) (*compiled, error) {
	if len(t.Steps) == 0 {
		return nil, fmt.Errorf("template %q has no steps", t.Name)
	}
	c := &compiled{Template: t, taskName: Str(t.Name)}
	index := make(map[string]int, len(t.Steps))
	for i, s := range t.Steps {
		if _, dup := index[s.Name]; dup {
			return nil, fmt.Errorf("template %q: duplicate step %q", t.Name, s.Name)
		}
		index[s.Name] = i
	}
	c.deps = make([][]int, len(t.Steps))
	c.children = make([][]int, len(t.Steps))
	c.stepDeps = make([]Value, len(t.Steps))
	for i, s := range t.Steps {
		kids := make([]Field, 0, len(s.Deps))
		for _, d := range s.Deps {
			j, ok := index[d]
			if !ok || j >= i {
				// Parents must come first: this keeps the DAG acyclic by construction.
				return nil, fmt.Errorf("template %q: step %q depends on %q, which is not an earlier step", t.Name, s.Name, d)
			}
			c.deps[i] = append(c.deps[i], j)
			c.children[j] = append(c.children[j], i)
			kids = append(kids, Field{Val: Str(d)})
		}
		c.stepDeps[i] = List(kids...)
	}
	c.stepInput = Map(Field{Key: "task_name", Val: Str(t.Name)})
	for _, table := range t.Tables {
		// query_name follows the fixture: the table name and the Rails verb.
		c.queries = append(c.queries,
			query{"SELECT * FROM " + table + " WHERE id = $1", table + " Load"},
			query{"UPDATE " + table + " SET state = $1 WHERE id = $2", table + " Update"},
			query{"INSERT INTO " + table + " (state, payload) VALUES ($1, $2)", table + " Create"},
		)
	}
	if len(c.queries) == 0 {
		c.queries = []query{{"SELECT 1", "SQL"}}
	}
	return c, nil
}
