// A permission name written as a path instead of a string.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = Admin.Write)]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }

    #[tool(requires = any(Admin, "User.Write"))]
    async fn create_product(&self) -> String {
        "created".into()
    }
}

fn main() {}
