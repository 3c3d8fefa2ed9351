// What Kiln's Kubeflow prototypes share (guest-components/kubeflow): standard labels and
// metadata, param checks, the TfJob API's names, and the NFS servers both `core` and `nfs`
// render. A library: it renders nothing by itself.
{
  clouds: ['', 'gke', 'azure'],
  serviceTypes: ['ClusterIP', 'NodePort', 'LoadBalancer'],

  // The TfJob custom resource, as `core`'s CustomResourceDefinition defines it.
  tfjob: {
    group: 'tensorflow.org',
    version: 'v1alpha1',
    kind: 'TfJob',
    plural: 'tfjobs',
    singular: 'tfjob',
    replicaTypes: ['MASTER', 'WORKER', 'PS'],
  },

  // Param checks: each fails the render naming the param, as the prototypes' errors do, or
  // returns the value it checked. Jsonnet is lazy, so a checked value that nothing uses is
  // forced with `assert std.isString(...)`.
  message(param, text):: 'invalid param `%s`: %s' % [param, text],
  fail(param, text):: error $.message(param, text),

  unknownValue(param, value, known)::
    $.message(param, 'unknown value `%s`; expected one of %s'
                     % [value, std.join(', ', ['`%s`' % k for k in known])]),
  oneOf(param, value, known)::
    if std.member(known, value) then value else error $.unknownValue(param, value, known),

  local lower(c) = c >= 'a' && c <= 'z',
  local alnum(c) = lower(c) || (c >= '0' && c <= '9'),
  isLabel(value)::
    local n = std.length(value);
    n > 0 && n <= 63 && alnum(value[0]) && alnum(value[n - 1])
    && std.all([alnum(c) || c == '-' for c in std.stringChars(value)]),

  dns1123Label(param, value)::
    if $.isLabel(value) then value
    else $.fail(param, '`%s` is not a valid DNS-1123 label: use at most 63 lowercase letters, '
                       % value + 'digits and `-`, starting and ending with a letter or digit'),

  dns1035Label(param, value)::
    if lower($.dns1123Label(param, value)[0]) then value
    else $.fail(param, '`%s` must start with a lowercase letter (it names a Service)' % value),

  // The longest disk name: the provisioner's pod label `app=<disk>-provisioner` must fit in 63.
  local maxDisk = 63 - std.length('-provisioner'),
  // Why disk `disks[i]` is not usable, or null.
  local diskProblem(disks, i) =
    local d = disks[i];
    if !$.isLabel(d) then '`%s` is not a valid DNS-1123 label' % d
    else if !lower(d[0]) then '`%s` must start with a lowercase letter' % d
    else if std.length(d) > maxDisk then '`%s` is longer than %d characters' % [d, maxDisk]
    else if std.member(disks[0:i], d) then '`%s` is listed twice' % d
    else null,
  local diskProblems(disks) =
    [p for p in [diskProblem(disks, i) for i in std.range(0, std.length(disks) - 1)] if p != null],
  validDisks(disks):: diskProblems(disks) == [],
  checkDisks(param, disks)::
    local problems = diskProblems(disks);
    if problems == [] then disks else $.fail(param, problems[0]),

  // A Kubernetes quantity such as `10Gi` or `500m`: a plain decimal number and a known suffix.
  checkQuantity(param, value)::
    local chars = std.stringChars(value);
    local numeric(c) = (c >= '0' && c <= '9') || c == '.';
    local ends = [i for i in std.range(0, std.length(chars) - 1) if !numeric(chars[i])];
    local cut = if ends == [] then std.length(chars) else ends[0];
    local number = value[0:cut];
    local suffix = value[cut:];
    local suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'm', 'k', 'M', 'G', 'T',
                      'P', 'E'];
    local numberOk = number != '' && std.count(std.stringChars(number), '.') <= 1
                     && number[0] != '.' && number[std.length(number) - 1] != '.';
    if numberOk && std.member(suffixes, suffix) then value
    else $.fail(param, '`%s` is not a Kubernetes quantity such as `10Gi`, `500Mi` or `1`' % value),

  // The namespace param, or the environment's.
  namespace(params, env)::
    $.dns1123Label('namespace',
                   if params.namespace != null then params.namespace else env.namespace),

  // Labels of Kubeflow application `app` rendered by `component`, plus the reference's `extra`.
  labels(app, component, extra={}):: {
    'app.kubernetes.io/name': app,
    'app.kubernetes.io/instance': component,
    'app.kubernetes.io/part-of': 'kubeflow',
  } + extra,

  // Metadata; cluster-scoped objects pass a null namespace.
  meta(name, namespace, labels)::
    { name: name, labels: labels } + (if namespace == null then {} else { namespace: namespace }),

  roleRef(kind, name):: { apiGroup: 'rbac.authorization.k8s.io', kind: kind, name: name },

  accountSubjects(name, namespace):: [{ kind: 'ServiceAccount', name: name, namespace: namespace }],

  rule(group, resources, verbs):: { apiGroups: [group], resources: resources, verbs: verbs },

  // The ConfigMap `configMap` mounted at `dir`: the container's mount and the pod's volume.
  configVolume(configMap, dir):: {
    mount: { name: 'config-volume', mountPath: dir },
    volume: { name: 'config-volume', configMap: { name: configMap } },
  },

  // The params `core` and `nfs` both declare for NFS, with their defaults.
  nfsParams:: {
    nfsImage: 'quay.io/kubernetes_incubator/nfs-provisioner:v1.0.8',
    diskSize: '10Gi',
  },

  // NFS servers for `disks` (already checked): the shared ServiceAccount, Role and bindings,
  // then per disk its StorageClass, claim, Service, Deployment and, without a cloud disk, its
  // backing claim. Nothing at all without disks.
  nfsServers(name, namespace, component, disks, cloud, image, diskSize)::
    local labels(extra={}) = $.labels('nfs-provisioner', component, extra);
    local meta(n, extra={}) = $.meta(n, namespace, labels(extra));
    local ports = [['nfs', 2049, 'TCP'], ['mountd', 20048, 'TCP'], ['rpcbind', 111, 'TCP'],
                   ['rpcbind-udp', 111, 'UDP']];
    local claim(metadata, mode, size, class) = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: metadata,
      spec: {
        accessModes: [mode],
        resources: { requests: { storage: size } },
      } + (if class == null then {} else { storageClassName: class }),
    };
    local field(path) = { fieldRef: { fieldPath: path } };
    local shared = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name) },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(name),
        // Leader election on Endpoints, and the Service the provisioner advertises.
        rules: [
          $.rule('', ['endpoints'], ['get', 'list', 'watch', 'create', 'update', 'patch']),
          $.rule('', ['services'], ['get']),
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(name + '-nfs-role'),
        roleRef: $.roleRef('Role', name),
        subjects: $.accountSubjects(name, namespace),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: $.meta(name + '-nfs-role', null, labels()),
        roleRef: $.roleRef('ClusterRole', 'system:persistent-volume-provisioner'),
        subjects: $.accountSubjects(name, namespace),
      },
    ];
    local disk(d) =
      local provisioner = d + '-provisioner';
      local service = d + '-service';
      local backing = d + '-backing';
      local app = { app: provisioner };
      [
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: $.meta(d + '-nfs', null, labels()),
          provisioner: d + '/nfs',
        },
        claim(meta(d), 'ReadWriteMany', '1Mi', d + '-nfs'),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: meta(service, app),
          spec: {
            selector: app,
            ports: [{ name: p[0], port: p[1], targetPort: p[1], protocol: p[2] } for p in ports],
          },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: meta(provisioner, app),
          spec: {
            replicas: 1,
            // Two servers must never export the same disk at once.
            strategy: { type: 'Recreate' },
            selector: { matchLabels: app },
            template: {
              metadata: { labels: labels(app) },
              spec: {
                serviceAccountName: name,
                containers: [{
                  name: 'nfs-provisioner',
                  image: image,
                  args: ['-provisioner=%s/nfs' % d],
                  env: [
                    { name: 'POD_IP', valueFrom: field('status.podIP') },
                    { name: 'SERVICE_NAME', value: service },
                    { name: 'POD_NAMESPACE', valueFrom: field('metadata.namespace') },
                  ],
                  ports: [{ name: p[0], containerPort: p[1], protocol: p[2] } for p in ports],
                  securityContext: { capabilities: { add: ['DAC_READ_SEARCH'] } },
                  volumeMounts: [{ name: 'export', mountPath: '/export' }],
                }],
                volumes: [
                  if cloud == 'gke' then { name: 'export', gcePersistentDisk: { pdName: d } }
                  else { name: 'export', persistentVolumeClaim: { claimName: backing } },
                ],
              },
            },
          },
        },
      ] + (if cloud == 'gke' then [] else [claim(meta(backing), 'ReadWriteOnce', diskSize, null)]);
    if disks == [] then [] else shared + std.flattenArrays([disk(d) for d in disks]),
}
