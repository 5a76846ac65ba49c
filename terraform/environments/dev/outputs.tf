output "grpc_endpoint" {
  description = "Address workers connect to (PULSE runtime gRPC)"
  value       = module.ecs.grpc_endpoint
}

output "metrics_endpoint" {
  description = "Address Prometheus scrapes"
  value       = module.ecs.metrics_endpoint
}

output "bucket_name" {
  description = "Checkpoint bucket"
  value       = module.s3.bucket_name
}

output "task_role_arn" {
  description = "Role of the runtime's tasks"
  value       = module.iam.task_role_arn
}

output "cluster_name" {
  description = "ECS cluster"
  value       = module.ecs.cluster_name
}

output "service_name" {
  description = "ECS service of the runtime"
  value       = module.ecs.service_name
}

output "log_group_name" {
  description = "CloudWatch Logs group of the runtime"
  value       = module.ecs.log_group_name
}

output "vpc_id" {
  description = "VPC of the runtime"
  value       = module.vpc.vpc_id
}
