// @name kubeflow/tf-serving/tf-serving
// @description TensorFlow Serving for one model: a Deployment and a Service on gRPC port 9000.
// @param name string Name of the model, its Deployment and Service
// @param modelPath string Where the model lives, e.g. gs://bucket/inception or s3://bucket/model
// @optionalParam namespace string null Namespace to deploy to (default: the environment's)
// @optionalParam image string gcr.io/kubeflow/model-server:1.0 The model server image
// @optionalParam serviceType string ClusterIP Service type: ClusterIP, NodePort or LoadBalancer
// @optionalParam cloud string "" Curated cloud config: gke, azure or empty
// @optionalParam gcpCredentialSecretName string null Secret with a GCP key (key.json) for gs://
// @optionalParam s3SecretName string null Secret with AWS keys for s3:// model paths
local common = import 'common.libsonnet';
local port = 9000;
local credentialsDir = '/secret/gcp-credentials';
{
  name: 'tf-serving',
  params: {
    name: null,
    namespace: null,
    modelPath: null,
    image: 'gcr.io/kubeflow/model-server:1.0',
    serviceType: 'ClusterIP',
    cloud: '',
    gcpCredentialSecretName: null,
    s3SecretName: null,
  },
  required: ['name', 'modelPath'],

  generate(params, component, env)::
    local p = $.params + params;
    local name = common.dns1035Label('name', p.name);
    local modelPath =
      if p.modelPath == null || std.stripChars(p.modelPath, ' \t\n') == ''
      then common.fail('modelPath', 'must not be empty')
      else p.modelPath;
    assert std.isString(common.oneOf('cloud', p.cloud, common.clouds));
    local gcp = p.gcpCredentialSecretName;
    local s3 =
      if p.s3SecretName != null && !std.startsWith(modelPath, 's3://')
      then common.fail('s3SecretName', 'is only used with an s3:// model path, and modelPath '
                                       + 'is `%s`' % modelPath)
      else p.s3SecretName;
    local labels = {
      app: name,
      'app.kubernetes.io/name': 'tf-serving',
      'app.kubernetes.io/instance': component,
      'app.kubernetes.io/part-of': 'kubeflow',
    };
    local meta = common.meta(name, common.namespace(p, env), labels);
    local quantities(cpu, memory) = { cpu: cpu, memory: memory };
    local env_ =
      (if gcp == null then []
       else [{ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: credentialsDir + '/key.json' }])
      + (if s3 == null then []
         else [
           { name: k, valueFrom: { secretKeyRef: { name: s3, key: k, optional: false } } }
           for k in ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']
         ]);
    local container = {
      name: name,
      image: p.image,
      command: ['/usr/bin/tensorflow_model_server'],
      args: ['--port=%d' % port, '--model_name=' + name, '--model_base_path=' + modelPath],
      ports: [{ containerPort: port }],
      resources: { requests: quantities('1', '1Gi'), limits: quantities('4', '4Gi') },
    } + (if gcp == null then {}
         else { volumeMounts: [{ name: 'gcp-credentials', mountPath: credentialsDir,
                                 readOnly: true }] })
      + (if env_ == [] then {} else { env: env_ });
    local selector = { app: name };
    [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta,
        spec: {
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: labels },
            spec: {
              // fsGroup is a pod-level setting: the only place Kubernetes accepts it.
              securityContext: { runAsUser: 1000, fsGroup: 1000 },
              containers: [container],
            } + (if gcp == null then {}
                 else { volumes: [{ name: 'gcp-credentials', secret: { secretName: gcp } }] }),
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta,
        spec: {
          type: common.oneOf('serviceType', p.serviceType, common.serviceTypes),
          selector: selector,
          ports: [{ name: 'grpc', port: port, targetPort: port, protocol: 'TCP' }],
        },
      },
    ],
}
