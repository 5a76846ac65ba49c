output "task_role_arn" {
  description = "ARN of the role the runtime's tasks run as"
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the role the runtime's tasks run as"
  value       = aws_iam_role.task.name
}

output "execution_role_arn" {
  description = "ARN of the role ECS uses to start the runtime's tasks"
  value       = aws_iam_role.execution.arn
}
