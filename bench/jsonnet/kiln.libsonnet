// What Kiln does around its prototypes (host/src/app/params.rs, pipeline.rs and
// manifest/post.rs), in jsonnet, so a jsonnet engine renders the same List as `kiln show -o json`:
// param resolution, provenance annotations, namespace defaulting, ownership labels, the
// duplicate check and the apply order. Pure: it reads no file and no external variable.
local core = '';
local rbac = 'rbac.authorization.k8s.io';
local apiext = 'apiextensions.k8s.io';

// Built-in cluster-scoped kinds by API group.
local clusterScoped = {
  [core]: ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  [rbac]: ['ClusterRole', 'ClusterRoleBinding'],
  [apiext]: ['CustomResourceDefinition'],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment',
                     'VolumeAttributesClass'],
  'scheduling.k8s.io': ['PriorityClass'],
  'node.k8s.io': ['RuntimeClass'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'admissionregistration.k8s.io': [
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
  ],
  'apiregistration.k8s.io': ['APIService'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  policy: ['PodSecurityPolicy'],
};

// Apply order, one rank per row; kinds not listed come last.
local applyOrder = [
  [[core, 'Namespace']],
  [[apiext, 'CustomResourceDefinition']],
  [[core, 'ServiceAccount']],
  [[rbac, 'Role'], [rbac, 'ClusterRole']],
  [[rbac, 'RoleBinding'], [rbac, 'ClusterRoleBinding']],
  [[core, 'ConfigMap'], [core, 'Secret']],
];

local str(o, k) = if std.objectHas(o, k) && std.isString(o[k]) then o[k] else '';

// `apps` for `apps/v1`, empty for the core `v1`.
local apiGroup(apiVersion) =
  local parts = std.split(apiVersion, '/');
  std.join('/', parts[0:std.length(parts) - 1]);

local isCrd(o) =
  str(o, 'kind') == 'CustomResourceDefinition' && apiGroup(str(o, 'apiVersion')) == apiext;

local rank(group, kind) =
  local hits = [i for i in std.range(0, std.length(applyOrder) - 1)
                if std.member(applyOrder[i], [group, kind])];
  if hits == [] then std.length(applyOrder) else hits[0];

{
  // The params of component `name` for `env`: the prototype's defaults, then the component's
  // params, the environment's params that the prototype declares, and the environment's
  // overrides for the component. Params without a default that nobody set are absent.
  resolve(prototype, name, params, env)::
    local declared = prototype.params;
    local strict(layer, where) = [
      error 'unknown param `%s` for component `%s` in %s' % [k, name, where]
      for k in std.objectFields(layer)
      if !std.objectHas(declared, k)
    ];
    local global = { [k]: env.params[k] for k in std.objectFields(env.params)
                     if std.objectHas(declared, k) };
    local overrides =
      if std.objectHas(env.components, name) then env.components[name] else {};
    assert strict(params, 'components/%s.toml' % name) == [];
    assert strict(overrides, 'environments/%s.toml' % env.name) == [];
    local merged = declared + params + global + overrides;
    local resolved = { [k]: merged[k] for k in std.objectFields(merged) if merged[k] != null };
    local missing = [k for k in prototype.required if !std.objectHas(resolved, k)];
    assert missing == [] : 'component `%s` does not set required param `%s`' % [name, missing[0]];
    resolved,

  // `sha256:<hex>` of the params as Kiln hashes them: compact JSON with sorted keys.
  paramsHash(params):: 'sha256:' + std.sha256(std.manifestJsonMinified(params)),

  // Render `components` (each { name, prototype, digest, params }) for `env` (name, namespace,
  // params, components: per-component overrides, labels) of app `app` into Kiln's List.
  render(app, env, components)::
    local resolved = [
      c { params: $.resolve(c.prototype, c.name, c.params, env) }
      for c in std.sort(components, function(c) c.name)
    ];
    // What each prototype sees of the environment: the other components and their params.
    local view = {
      name: env.name,
      namespace: env.namespace,
      labels: env.labels,
      components: [
        { name: c.name, prototype: c.prototype.name, params: c.params }
        for c in resolved
      ],
    };
    // One comprehension per component, not `for c in ... for o in generate(c...)`: jrsonnet
    // 0.5.0-pre98 evaluates a lazy `c.name` argument in the inner `for` with the last `c`, so
    // every prototype would see the last component's name.
    local rendered = std.flattenArrays([
      [
        {
          component: c.name,
          object: o {
            metadata+: {
              annotations+: {
                'kiln.dev/prototype-digest': c.digest,
                'kiln.dev/params-hash': $.paramsHash(c.params),
              },
            },
          },
        }
        for o in c.prototype.generate(c.params, c.name, view)
      ]
      for c in resolved
    ]);
    local crds = [r.object for r in rendered if isCrd(r.object)];
    local isClusterScoped(o) =
      local group = apiGroup(str(o, 'apiVersion'));
      local kind = str(o, 'kind');
      (std.objectHas(clusterScoped, group) && std.member(clusterScoped[group], kind))
      || std.length([c for c in crds if str(c.spec, 'scope') == 'Cluster'
                                         && str(c.spec, 'group') == group
                                         && str(c.spec.names, 'kind') == kind]) > 0;
    local normalize(component, o) =
      local md = o.metadata;
      local ns = str(md, 'namespace');
      local labels = if std.objectHas(md, 'labels') && md.labels != null then md.labels else {};
      local namespace =
        if isClusterScoped(o) then
          if ns == '' then {}
          else error 'component `%s` renders cluster-scoped object `%s/%s/%s` with a '
                     % [component, o.kind, ns, md.name]
                     + 'namespace: cluster-scoped objects carry no namespace'
        else if ns == '' && env.namespace != '' then { namespace: env.namespace }
        else if std.objectHas(md, 'namespace') then { namespace: md.namespace }
        else {};
      o {
        metadata: { [k]: md[k] for k in std.objectFields(md) if k != 'namespace' && k != 'labels' }
                  + namespace
                  + {
                    // The environment's labels where the prototype set none, then the
                    // ownership labels, which always win: pruning selects on them.
                    labels: env.labels + labels + {
                      'app.kubernetes.io/managed-by': 'kiln',
                      'kiln.dev/app': app,
                      'kiln.dev/environment': env.name,
                      'kiln.dev/component': component,
                    },
                  },
      };
    local keyed = [
      local o = normalize(r.component, r.object);
      local group = apiGroup(o.apiVersion);
      {
        key: [rank(group, o.kind), o.kind, str(o.metadata, 'namespace'), o.metadata.name,
              r.component, group],
        identity: std.join('/', [group, o.kind, str(o.metadata, 'namespace'), o.metadata.name]),
        object: o,
      }
      for r in rendered
    ];
    local sorted = std.sort(keyed, function(k) k.key);
    local identities = [k.identity for k in sorted];
    assert std.length(std.set(identities)) == std.length(identities)
           : 'object `%s` is rendered twice'
             % [i for i in identities if std.count(identities, i) > 1][0];
    { apiVersion: 'v1', kind: 'List', items: [k.object for k in sorted] },
}
